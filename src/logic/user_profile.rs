use crate::users::*;

impl UserProfileLogic for UserProfile {
    fn create_user(&self, command: &CreateUser) -> Result<Vec<UserCreated>, UserProfileError> {
        if self.created {
            return Err(UserProfileError::ProfileAlreadyCreated);
        }
        Ok(vec![UserCreated {
            user_id: command.user_id,
            first_name: command.first_name.clone(),
            last_name: command.last_name.clone(),
            email: command.email.clone(),
            tags: command.tags.clone(),
        }])
    }

    fn apply_user_created(&mut self, event: &UserCreated) {
        self.user_id = event.user_id;
        self.first_name = event.first_name.clone();
        self.last_name = event.last_name.clone();
        self.email = event.email.clone();
        self.created = true;
    }
}
