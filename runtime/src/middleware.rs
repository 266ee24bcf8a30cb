//! Command middleware, as in Commanded: code that runs around every dispatch without the
//! domain knowing, for authorization, auditing, metrics or attaching request metadata.

use std::fmt;
use std::sync::Arc;

use uuid::Uuid;

use crate::engine::{CommandContext, DispatchError};
use crate::store::RecordedEvent;

/// What middleware learns about the command being dispatched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandInfo {
    /// The aggregate's context, e.g. `bank`.
    pub context: &'static str,
    /// The aggregate's name, e.g. `BankAccount`.
    pub aggregate: &'static str,
    /// The command's name, e.g. `OpenBankAccount`.
    pub command: &'static str,
    pub stream_id: String,
    /// The caller's command id, or the fresh one the engine made.
    pub command_id: Uuid,
}

/// What a successful dispatch did, for [`Middleware::after`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OutcomeSummary<'a> {
    pub stream_id: &'a str,
    /// The stream's version after the command.
    pub version: u64,
    /// The events as stored (types, ids, positions, metadata).
    pub recorded: &'a [RecordedEvent],
    /// True when the command id had been dispatched before and nothing was appended.
    pub duplicate: bool,
}

/// Why a middleware refused a command; becomes [`crate::DispatchError::Rejected`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection(pub String);

impl Rejection {
    pub fn new(reason: impl fmt::Display) -> Self {
        Rejection(reason.to_string())
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Rejection {}

/// Runs around every command an [`crate::Engine`] dispatches.
///
/// `before` runs in registration order, before validation, and may edit the context (add
/// metadata, set a correlation id) or refuse the command; a refusal appends nothing.
/// `after` and `on_failure` run in reverse registration order, like unwinding layers, and
/// every middleware sees every outcome, a refusal by an earlier one included. Methods are
/// synchronous: keep them quick, hand slow work to a task.
pub trait Middleware: Send + Sync + 'static {
    /// Before the command runs. `Err` stops it with [`crate::DispatchError::Rejected`].
    fn before(&self, info: &CommandInfo, ctx: &mut CommandContext) -> Result<(), Rejection> {
        let _ = (info, ctx);
        Ok(())
    }

    /// After the command's events were appended (or found, for a duplicate command id).
    fn after(&self, info: &CommandInfo, outcome: &OutcomeSummary<'_>) {
        let _ = (info, outcome);
    }

    /// After the command failed, for any reason; nothing was appended (but for
    /// [`DispatchError::Unconfirmed`], which is not reported here: the command succeeded and
    /// `after` saw it). The error is typed, the domain error as an error object:
    /// `error.downcast_ref::<BankAccountError>()` on [`DispatchError::Domain`] gets it back.
    fn on_failure(&self, info: &CommandInfo, error: &DispatchError<DomainFailure>) {
        let _ = (info, error);
    }
}

/// A domain error as [`Middleware::on_failure`] sees it: aggregates differ in their error
/// types, so it comes as an error object.
pub type DomainFailure = Arc<dyn std::error::Error + Send + Sync>;
