//! Users: registration with a password rule, UUID-identified profiles, and events stored by
//! older versions of the code (upcast from v1 `name`, and an old type name).

use eskema::serde_json::json;
use eskema::store::{ExpectedVersion, Metadata, NewEvent};
use eskema::uuid::Uuid;
use eskema::{AggregateTestExt, Engine, EventStore, MemoryStore};
use eskema_demo::logic::user::hash_password;
use eskema_demo::users::*;

fn register(password: &str) -> RegisterUser {
    RegisterUser {
        user: "ann".into(),
        first_name: "Ann".into(),
        password: password.into(),
    }
}

#[test]
fn register_stores_a_hash_never_the_password() {
    User::given_nothing()
        .when(register("correct horse"))
        .then_events([UserRegistered {
            user: "ann".into(),
            first_name: "Ann".into(),
            password_hash: hash_password("correct horse"),
        }])
        .then_state(|s| {
            assert!(s.registered);
            assert_ne!(s.password_hash, "correct horse");
        });
}

#[test]
fn a_password_needs_eight_characters() {
    User::given_nothing()
        .when(register("short"))
        .then_invalid("password", "length");
}

#[test]
fn a_user_name_is_registered_once() {
    User::given([UserRegistered {
        user: "ann".into(),
        first_name: "Ann".into(),
        password_hash: "h".into(),
    }])
    .when(register("long enough"))
    .then_error(UserError::UserAlreadyRegistered);
}

#[test]
fn every_violation_of_register_is_reported() {
    let then = User::given_nothing().when(RegisterUser {
        user: String::new(),
        first_name: String::new(),
        password: "x".into(),
    });
    let err = then.result().as_ref().expect_err("invalid");
    let v = err.validation().expect("validation");
    assert!(
        v.has("user", "required") && v.has("first_name", "required") && v.has("password", "length"),
        "{v}"
    );
    assert_eq!(v.len(), 3);
}

fn create(id: Uuid) -> CreateUser {
    CreateUser {
        user_id: id,
        first_name: "Ann".into(),
        last_name: "Lee".into(),
        email: "ann@example.com".into(),
        tags: vec![],
    }
}

#[test]
fn create_user_is_identified_by_uuid() {
    let id = Uuid::now_v7();
    UserProfile::given_nothing()
        .when(create(id))
        .then_events([UserCreated {
            user_id: id,
            first_name: "Ann".into(),
            last_name: "Lee".into(),
            email: "ann@example.com".into(),
            tags: vec![],
        }])
        .then_state(|s| {
            assert_eq!(s.user_id, id);
            assert!(s.created);
        });
    UserProfile::given([UserCreated {
        user_id: id,
        first_name: "A".into(),
        last_name: String::new(),
        email: "a@b.co".into(),
        tags: vec![],
    }])
    .when(create(id))
    .then_error(UserProfileError::ProfileAlreadyCreated);
}

#[test]
fn create_user_checks_email_and_tags() {
    let mut bad = create(Uuid::nil());
    bad.email = "nope".into();
    bad.tags = (0..11).map(|i| i.to_string()).collect();
    let then = UserProfile::given_nothing().when(bad);
    let v = then
        .result()
        .as_ref()
        .expect_err("invalid")
        .validation()
        .expect("validation")
        .clone();
    assert!(v.has("email", "email") && v.has("tags", "length"), "{v}");
}

#[tokio::test]
async fn stored_v1_and_v2_registrations_load_as_v3() {
    let store = MemoryStore::new();
    let v1 = NewEvent::new(
        "UserRegistered",
        1,
        json!({"user": "bob", "name": "Bob", "password": "plain"}),
        Metadata::default(),
    );
    store
        .append("User-bob", ExpectedVersion::NoStream, vec![v1], None)
        .await
        .expect("append");
    let engine = Engine::new(store);
    let user = engine.load::<User>("bob").await.expect("load");
    assert_eq!(
        user.state.first_name, "Bob",
        "v1 `name` became `first_name`"
    );
    assert_eq!(
        user.state.password_hash, "",
        "the plain password was dropped, the hash defaulted"
    );
    assert!(user.state.registered);
}

#[tokio::test]
async fn a_profile_stored_under_its_old_type_name_loads_as_user_created() {
    let store = MemoryStore::new();
    let id = Uuid::now_v7();
    let old = NewEvent::new(
        "ProfileCreated",
        1,
        json!({"user_id": id, "name": "Cleo", "email": "c@example.com"}),
        Metadata::default(),
    );
    store
        .append(
            &format!("UserProfile-{id}"),
            ExpectedVersion::NoStream,
            vec![old],
            None,
        )
        .await
        .expect("append");
    let engine = Engine::new(store);
    let profile = engine
        .load::<UserProfile>(&id.to_string())
        .await
        .expect("load");
    assert_eq!(profile.state.first_name, "Cleo");
    assert_eq!(profile.state.last_name, "");
    assert!(profile.state.created);
    // New commands on an upcast history work as usual.
    let err = dispatch(&engine, create(id)).await.expect_err("exists");
    assert!(matches!(
        err,
        eskema::DispatchError::Domain(Error::UserProfile(UserProfileError::ProfileAlreadyCreated))
    ));
}
