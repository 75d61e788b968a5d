//! The `regtui` binary: parse the command line and run a subcommand.

use clap::Parser;

fn main() {
    let cli = regtui::cli::Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = rt.block_on(regtui::cli::run(cli));
    std::process::exit(code);
}
