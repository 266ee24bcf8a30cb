use crate::users::*;

/// A stand-in for a real password hash (use argon2 in production): what matters here is
/// that the plain password never reaches an event.
pub fn hash_password(password: &str) -> String {
    // FNV-1a 64, hex: deterministic, so tests can predict it.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in password.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("fnv1a:{h:016x}")
}

impl UserLogic for User {
    fn register_user(&self, command: &RegisterUser) -> Result<Vec<UserRegistered>, UserError> {
        if self.registered {
            return Err(UserError::UserAlreadyRegistered);
        }
        Ok(vec![UserRegistered {
            user: command.user.clone(),
            first_name: command.first_name.clone(),
            password_hash: hash_password(&command.password),
        }])
    }

    fn apply_user_registered(&mut self, event: &UserRegistered) {
        self.user = event.user.clone();
        self.first_name = event.first_name.clone();
        self.password_hash = event.password_hash.clone();
        self.registered = true;
    }
}
