//! Business logic: one file per aggregate, handler and process manager.

pub mod account_balances;
pub mod atm_withdrawal;
pub mod bank_account;
pub mod notifications;
pub mod user;
pub mod user_profile;
pub mod withdrawal;
