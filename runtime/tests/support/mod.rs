//! A hand-written test domain, shaped like generated code: a bank account with open,
//! deposit, withdraw and change of owner (a no-op when the owner is the same), an
//! insufficient-funds error, an event at version 2 with a v1 -> v2
//! upcast, and an event renamed from an older type name. Plus a store wrapper that counts
//! calls, to prove what the engine does and does not read.

use std::sync::atomic::{AtomicUsize, Ordering};

use eskema::__private::{add_json, as_object};
use eskema::aggregate::{Aggregate, AggregateCommand};
use eskema::event::AnyEvent;
use eskema::event::DomainEvent;
use eskema::serde::{Deserialize, Serialize};
use eskema::serde_json::Value;
use eskema::store::{AppendOutcome, ExpectedVersion, NewEvent, Snapshot};
use eskema::uuid::Uuid;
use eskema::{
    CommandContext, Engine, Event, EventStore, Outcome, RecordedEvent, StoreError, UpcastError,
    Validate, ValidationErrors,
};

pub mod read;

/// Snapshot every this many events.
pub const SNAPSHOT_EVERY: u64 = 10;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(crate = "eskema::serde")]
pub struct Account {
    pub opened: bool,
    pub owner: String,
    pub balance: i64,
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(crate = "eskema::serde")]
pub struct OpenAccount {
    pub account_id: String,
    pub owner: String,
    pub initial: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(crate = "eskema::serde")]
pub struct Deposit {
    pub account_id: String,
    pub amount: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(crate = "eskema::serde")]
pub struct Withdraw {
    pub account_id: String,
    pub amount: i64,
}

/// Decides no events when the account already has this owner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(crate = "eskema::serde")]
pub struct ChangeOwner {
    pub account_id: String,
    pub owner: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(crate = "eskema::serde")]
pub enum AccountCommand {
    OpenAccount(OpenAccount),
    Deposit(Deposit),
    Withdraw(Withdraw),
    ChangeOwner(ChangeOwner),
}

impl From<ChangeOwner> for AccountCommand {
    fn from(c: ChangeOwner) -> Self {
        AccountCommand::ChangeOwner(c)
    }
}

impl From<OpenAccount> for AccountCommand {
    fn from(c: OpenAccount) -> Self {
        AccountCommand::OpenAccount(c)
    }
}

impl From<Deposit> for AccountCommand {
    fn from(c: Deposit) -> Self {
        AccountCommand::Deposit(c)
    }
}

impl From<Withdraw> for AccountCommand {
    fn from(c: Withdraw) -> Self {
        AccountCommand::Withdraw(c)
    }
}

fn validate_account_id(id: &str, prefix: &str, errors: &mut ValidationErrors) {
    if id.is_empty() {
        errors.push(
            format!("{prefix}account_id"),
            "required",
            "must not be empty",
        );
    }
}

fn validate_amount(amount: i64, prefix: &str, errors: &mut ValidationErrors) {
    if !(1..=1_000_000).contains(&amount) {
        errors.push(
            format!("{prefix}amount"),
            "min",
            "must be between 1 and 1000000",
        );
    }
}

impl Validate for AccountCommand {
    fn validate_into(&self, prefix: &str, errors: &mut ValidationErrors) {
        match self {
            AccountCommand::OpenAccount(c) => {
                validate_account_id(&c.account_id, prefix, errors);
                if c.owner.is_empty() {
                    errors.push(format!("{prefix}owner"), "required", "must not be empty");
                }
                if c.initial < 0 {
                    errors.push(format!("{prefix}initial"), "min", "must be at least 0");
                }
            }
            AccountCommand::Deposit(c) => {
                validate_account_id(&c.account_id, prefix, errors);
                validate_amount(c.amount, prefix, errors);
            }
            AccountCommand::Withdraw(c) => {
                validate_account_id(&c.account_id, prefix, errors);
                validate_amount(c.amount, prefix, errors);
            }
            AccountCommand::ChangeOwner(c) => validate_account_id(&c.account_id, prefix, errors),
        }
    }
}

impl AggregateCommand for AccountCommand {
    fn name(&self) -> &'static str {
        match self {
            AccountCommand::OpenAccount(_) => "OpenAccount",
            AccountCommand::Deposit(_) => "Deposit",
            AccountCommand::Withdraw(_) => "Withdraw",
            AccountCommand::ChangeOwner(_) => "ChangeOwner",
        }
    }

    fn identity(&self) -> String {
        match self {
            AccountCommand::OpenAccount(c) => c.account_id.clone(),
            AccountCommand::Deposit(c) => c.account_id.clone(),
            AccountCommand::Withdraw(c) => c.account_id.clone(),
            AccountCommand::ChangeOwner(c) => c.account_id.clone(),
        }
    }
}

/// Version 2: version 1 had no `currency` (upcast adds "EUR").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(crate = "eskema::serde")]
pub struct AccountOpened {
    pub account_id: String,
    pub owner: String,
    pub initial: i64,
    pub currency: String,
}

impl Event for AccountOpened {
    const NAME: &'static str = "AccountOpened";
    const VERSION: u32 = 2;

    fn upcast(version: u32, mut data: Value) -> Result<Value, UpcastError> {
        if version < 2 {
            let map = as_object(&mut data, Self::NAME, 1)?;
            add_json(map, "currency", "\"EUR\"");
        }
        Ok(data)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(crate = "eskema::serde")]
pub struct MoneyDeposited {
    pub amount: i64,
    pub balance: i64,
}

impl Event for MoneyDeposited {
    const NAME: &'static str = "MoneyDeposited";
}

/// Stored as `CashWithdrawn` by older code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(crate = "eskema::serde")]
pub struct MoneyWithdrawn {
    pub amount: i64,
    pub balance: i64,
}

impl Event for MoneyWithdrawn {
    const NAME: &'static str = "MoneyWithdrawn";
    const RENAMED_FROM: &'static [&'static str] = &["CashWithdrawn"];
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(crate = "eskema::serde")]
pub struct OwnerChanged {
    pub owner: String,
}

impl Event for OwnerChanged {
    const NAME: &'static str = "OwnerChanged";
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(crate = "eskema::serde")]
pub enum AccountEvent {
    AccountOpened(AccountOpened),
    MoneyDeposited(MoneyDeposited),
    MoneyWithdrawn(MoneyWithdrawn),
    OwnerChanged(OwnerChanged),
}

impl From<OwnerChanged> for AccountEvent {
    fn from(e: OwnerChanged) -> Self {
        AccountEvent::OwnerChanged(e)
    }
}

impl From<AccountOpened> for AccountEvent {
    fn from(e: AccountOpened) -> Self {
        AccountEvent::AccountOpened(e)
    }
}

impl From<MoneyDeposited> for AccountEvent {
    fn from(e: MoneyDeposited) -> Self {
        AccountEvent::MoneyDeposited(e)
    }
}

impl From<MoneyWithdrawn> for AccountEvent {
    fn from(e: MoneyWithdrawn) -> Self {
        AccountEvent::MoneyWithdrawn(e)
    }
}

impl DomainEvent for AccountEvent {
    fn as_event(&self) -> &dyn AnyEvent {
        match self {
            AccountEvent::AccountOpened(e) => e,
            AccountEvent::MoneyDeposited(e) => e,
            AccountEvent::MoneyWithdrawn(e) => e,
            AccountEvent::OwnerChanged(e) => e,
        }
    }

    fn from_stored(event_type: &str, version: u32, data: Value) -> Result<Self, UpcastError> {
        if AccountOpened::is_stored_as(event_type) {
            AccountOpened::from_stored(version, data).map(AccountEvent::AccountOpened)
        } else if MoneyDeposited::is_stored_as(event_type) {
            MoneyDeposited::from_stored(version, data).map(AccountEvent::MoneyDeposited)
        } else if MoneyWithdrawn::is_stored_as(event_type) {
            MoneyWithdrawn::from_stored(version, data).map(AccountEvent::MoneyWithdrawn)
        } else if OwnerChanged::is_stored_as(event_type) {
            OwnerChanged::from_stored(version, data).map(AccountEvent::OwnerChanged)
        } else {
            Err(UpcastError::unknown(event_type, "AccountEvent"))
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    #[error("the account is already open")]
    AlreadyOpened,
    #[error("the account is not open")]
    NotOpened,
    #[error("the balance does not cover the amount")]
    InsufficientFunds,
}

impl Aggregate for Account {
    const NAME: &'static str = "Account";
    const CONTEXT: &'static str = "bank";
    const SNAPSHOT_EVERY: Option<u64> = Some(SNAPSHOT_EVERY);
    const STATE_HASH: &'static str = "0123456789abcdef";

    type Command = AccountCommand;
    type Event = AccountEvent;
    type Error = AccountError;

    fn stream_id(identity: &str) -> String {
        format!("account-{identity}")
    }

    fn execute(&self, command: &AccountCommand) -> Result<Vec<AccountEvent>, AccountError> {
        match command {
            AccountCommand::OpenAccount(c) => {
                if self.opened {
                    return Err(AccountError::AlreadyOpened);
                }
                Ok(vec![
                    AccountOpened {
                        account_id: c.account_id.clone(),
                        owner: c.owner.clone(),
                        initial: c.initial,
                        currency: "EUR".to_string(),
                    }
                    .into(),
                ])
            }
            AccountCommand::Deposit(c) => {
                if !self.opened {
                    return Err(AccountError::NotOpened);
                }
                Ok(vec![
                    MoneyDeposited {
                        amount: c.amount,
                        balance: self.balance + c.amount,
                    }
                    .into(),
                ])
            }
            AccountCommand::Withdraw(c) => {
                if !self.opened {
                    return Err(AccountError::NotOpened);
                }
                if self.balance < c.amount {
                    return Err(AccountError::InsufficientFunds);
                }
                Ok(vec![
                    MoneyWithdrawn {
                        amount: c.amount,
                        balance: self.balance - c.amount,
                    }
                    .into(),
                ])
            }
            AccountCommand::ChangeOwner(c) => {
                if !self.opened {
                    return Err(AccountError::NotOpened);
                }
                if self.owner == c.owner {
                    return Ok(vec![]);
                }
                Ok(vec![
                    OwnerChanged {
                        owner: c.owner.clone(),
                    }
                    .into(),
                ])
            }
        }
    }

    fn apply(&mut self, event: &AccountEvent) {
        match event {
            AccountEvent::AccountOpened(e) => {
                self.opened = true;
                self.owner = e.owner.clone();
                self.balance = e.initial;
                self.currency = e.currency.clone();
            }
            AccountEvent::MoneyDeposited(e) => self.balance = e.balance,
            AccountEvent::MoneyWithdrawn(e) => self.balance = e.balance,
            AccountEvent::OwnerChanged(e) => self.owner = e.owner.clone(),
        }
    }
}

/// Opens account `a1` for Ann with 10 (version 1), where most engine tests start.
pub async fn open_a1<S: EventStore>(engine: &Engine<S>) -> Outcome<AccountEvent> {
    engine
        .execute::<Account>(open("a1", "Ann", 10).into(), CommandContext::default())
        .await
        .expect("open")
}

pub fn open(account_id: &str, owner: &str, initial: i64) -> OpenAccount {
    OpenAccount {
        account_id: account_id.to_string(),
        owner: owner.to_string(),
        initial,
    }
}

pub fn deposit(account_id: &str, amount: i64) -> Deposit {
    Deposit {
        account_id: account_id.to_string(),
        amount,
    }
}

pub fn change_owner(account_id: &str, owner: &str) -> ChangeOwner {
    ChangeOwner {
        account_id: account_id.to_string(),
        owner: owner.to_string(),
    }
}

pub fn withdraw(account_id: &str, amount: i64) -> Withdraw {
    Withdraw {
        account_id: account_id.to_string(),
        amount,
    }
}

/// Calls per store method, to prove which round trips the engine makes.
#[derive(Debug, Default)]
pub struct Calls {
    /// Every append, `append_new_command` included.
    pub append: AtomicUsize,
    /// Appends through `append_new_command`.
    pub append_new_command: AtomicUsize,
    pub read_stream: AtomicUsize,
    pub read_all: AtomicUsize,
    pub stream_version: AtomicUsize,
    pub find_command: AtomicUsize,
    pub save_snapshot: AtomicUsize,
    pub load_snapshot: AtomicUsize,
}

impl Calls {
    /// Every read: anything that is not an append or a snapshot save.
    pub fn reads(&self) -> usize {
        [
            &self.read_stream,
            &self.read_all,
            &self.stream_version,
            &self.find_command,
            &self.load_snapshot,
        ]
        .iter()
        .map(|c| c.load(Ordering::SeqCst))
        .sum()
    }

    pub fn get(counter: &AtomicUsize) -> usize {
        counter.load(Ordering::SeqCst)
    }
}

/// A store that counts calls and delegates to another.
#[derive(Debug, Default)]
pub struct CountingStore<S> {
    pub inner: S,
    pub calls: Calls,
}

impl<S> CountingStore<S> {
    pub fn new(inner: S) -> Self {
        CountingStore {
            inner,
            calls: Calls::default(),
        }
    }
}

fn bump(counter: &AtomicUsize) {
    counter.fetch_add(1, Ordering::SeqCst);
}

impl<S: EventStore> EventStore for CountingStore<S> {
    async fn append(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
        command_id: Option<Uuid>,
    ) -> Result<AppendOutcome, StoreError> {
        bump(&self.calls.append);
        self.inner
            .append(stream_id, expected, events, command_id)
            .await
    }

    async fn append_new_command(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
        command_id: Uuid,
    ) -> Result<AppendOutcome, StoreError> {
        bump(&self.calls.append);
        bump(&self.calls.append_new_command);
        self.inner
            .append_new_command(stream_id, expected, events, command_id)
            .await
    }

    async fn read_stream(
        &self,
        stream_id: &str,
        from_version: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        bump(&self.calls.read_stream);
        self.inner.read_stream(stream_id, from_version, limit).await
    }

    async fn read_all(
        &self,
        from_position: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        bump(&self.calls.read_all);
        self.inner.read_all(from_position, limit).await
    }

    async fn stream_version(&self, stream_id: &str) -> Result<u64, StoreError> {
        bump(&self.calls.stream_version);
        self.inner.stream_version(stream_id).await
    }

    async fn find_command(
        &self,
        command_id: Uuid,
    ) -> Result<Option<Vec<RecordedEvent>>, StoreError> {
        bump(&self.calls.find_command);
        self.inner.find_command(command_id).await
    }

    async fn save_snapshot(&self, snapshot: Snapshot) -> Result<(), StoreError> {
        bump(&self.calls.save_snapshot);
        self.inner.save_snapshot(snapshot).await
    }

    async fn load_snapshot(&self, stream_id: &str) -> Result<Option<Snapshot>, StoreError> {
        bump(&self.calls.load_snapshot);
        self.inner.load_snapshot(stream_id).await
    }
}
