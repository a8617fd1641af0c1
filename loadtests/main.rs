//! The `loadtest` binary: goose load scenarios against a gatebench gateway (being built).

fn main() {
    eprintln!("loadtest is not built yet");
    std::process::exit(2);
}
