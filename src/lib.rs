//! The eskema demo domain: bank accounts, ATM withdrawals and user registration.
//!
//! `build.rs` generates the modules `bank`, `atm`, `users` (one per file in `schemas/`) and
//! the whole-domain router `domain`; [`logic`] holds the hand-written business logic the
//! generated traits ask for (first written by `eskema scaffold`, then filled in), and
//! [`read_side`] starts its handlers and process manager on either store.

eskema::include_domain!();

pub mod logic;
pub mod read_side;
