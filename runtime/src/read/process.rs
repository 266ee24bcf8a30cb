//! What a process manager does with one event, without any store: which instance it
//! reaches, whether it reacts, and the commands it asks for with the ids they are dispatched
//! under. The runner and the test helpers both go through here, so a test sees exactly the
//! commands and ids a running process manager would dispatch.

use uuid::Uuid;

use crate::engine::CommandContext;
use crate::read::spec::Role;
use crate::read::subscriber::{HandlerError, ProcessManager};
use crate::store::RecordedEvent;

/// A command a process manager asked for, and the context it is dispatched with.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned<C> {
    pub command: C,
    /// `command_id` derived from (process manager, instance, event position, index), so a
    /// redelivered event dispatches the same ids and idempotent dispatch makes them no-ops;
    /// `causation_id` the event's id; `correlation_id` the event's (or its id when it has
    /// none). Dispatched without waiting for strong handlers.
    pub context: CommandContext,
}

/// What one event does to its instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Step<P: ProcessManager> {
    /// The identity value the event carries.
    pub instance: String,
    /// The instance's state after the event: `None` when the event stopped it (or reached
    /// no instance and started none).
    pub state: Option<P>,
    /// Whether the process manager reacted (its method ran).
    pub reacted: bool,
    pub commands: Vec<Planned<P::Command>>,
}

/// Namespace of the command ids process managers derive (UUID v5).
const COMMAND_ID_NAMESPACE: Uuid = Uuid::from_u128(0x6573_6b65_6d61_2e70_726f_6365_7373_2e31);

/// The id of the `index`-th command `process` (its `context.Name`) asks for when `instance`
/// handles the event at `position`: the same every time the event is handled.
pub fn command_id(process: &str, instance: &str, position: u64, index: usize) -> Uuid {
    let name = format!("{process}\u{1f}{instance}\u{1f}{position}\u{1f}{index}");
    Uuid::new_v5(&COMMAND_ID_NAMESPACE, name.as_bytes())
}

/// Runs `event` (decoded from `recorded`, taken as `P::SPEC.events[key]`) on `current`, the
/// instance's state (`None`: no instance yet).
pub fn step<P: ProcessManager>(
    current: Option<&P>,
    key: usize,
    event: &P::Event,
    recorded: &RecordedEvent,
) -> Result<Step<P>, HandlerError> {
    let instance = P::instance(event);
    let role = P::SPEC.events.get(key).map_or(Role::Continue, |k| k.role);
    let mut state = match (role, current) {
        (_, Some(state)) => state.clone(),
        (Role::Start, None) => P::default(),
        // Only a start event creates an instance; anything else for an unknown one (a
        // counter withdrawal, for a saga of ATM withdrawals) is none of its business.
        (_, None) => {
            return Ok(Step {
                instance,
                state: None,
                reacted: false,
                commands: Vec::new(),
            });
        }
    };
    let commands = state.handle(event, recorded)?;
    let process = P::SPEC.id();
    let commands = commands
        .into_iter()
        .enumerate()
        .map(|(index, command)| Planned {
            command,
            context: CommandContext {
                command_id: Some(command_id(&process, &instance, recorded.position, index)),
                correlation_id: Some(
                    recorded
                        .metadata
                        .correlation_id
                        .unwrap_or(recorded.event_id),
                ),
                causation_id: Some(recorded.event_id),
                eventual: true,
                ..CommandContext::default()
            },
        })
        .collect();
    Ok(Step {
        instance,
        state: (role != Role::Stop).then_some(state),
        reacted: true,
        commands,
    })
}

#[cfg(test)]
mod tests {
    use super::command_id;

    #[test]
    fn command_ids_are_stable_and_distinct() {
        let a = command_id("bank.Withdrawal", "w1", 7, 0);
        assert_eq!(a, command_id("bank.Withdrawal", "w1", 7, 0));
        assert_ne!(a, command_id("bank.Withdrawal", "w1", 7, 1));
        assert_ne!(a, command_id("bank.Withdrawal", "w1", 8, 0));
        assert_ne!(a, command_id("bank.Withdrawal", "w2", 7, 0));
        assert_ne!(a, command_id("bank.Other", "w1", 7, 0));
        // Pinned (checked against Python's uuid.uuid5): ids must not change between
        // releases, since an event redelivered after an upgrade must dispatch the ids it
        // did before.
        assert_eq!(a.to_string(), "5bb00373-667b-5312-aa90-57b56b2b6ffc");
    }
}
