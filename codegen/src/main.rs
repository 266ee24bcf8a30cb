//! The `eskema` binary; everything lives in [`eskema_codegen::cli`].

fn main() -> std::process::ExitCode {
    eskema_codegen::cli::main()
}
