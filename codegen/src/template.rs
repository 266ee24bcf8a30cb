//! What the tera-based outputs (scaffold stubs, docs pages) share.

/// A tera error with its whole source chain in one message: tera keeps the detail (which
/// variable, which line of the template) in the sources, and a message without it says
/// only "failed to render".
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    message
}
