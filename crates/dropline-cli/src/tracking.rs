//! `dropline tracking detect`: the carriers a tracking number may belong to and whether it is
//! valid for them, stored nowhere.

use crate::output;
use clap::{Args, Subcommand};
use dropline_domain::carrier::{Checksum, detect_carrier};
use dropline_web::api::tracking::TrackingDetection;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum TrackingCommand {
    /// Print the carriers a tracking number may belong to, best first, and whether it is valid
    /// for them (check digit, structure); exit code 1 when it is valid for none
    Detect(DetectArgs),
}

#[derive(Debug, Args)]
pub struct DetectArgs {
    /// The tracking number; spaces are ignored, so it may be given in several parts
    #[arg(required = true, value_name = "NUMBER")]
    number: Vec<String>,
}

pub fn run(command: TrackingCommand, json: bool) -> anyhow::Result<ExitCode> {
    let TrackingCommand::Detect(args) = command;
    let detection = detect_carrier(&args.number.join(" "));
    let valid = detection.is_valid();
    if json {
        output::print_json(&TrackingDetection::from(detection))?;
    } else if detection.candidates.is_empty() {
        println!(
            "{}: no carrier recognised, the number fits no known format",
            detection.tracking_number
        );
    } else {
        let mut table = output::table(["CARRIER", "NAME", "FORMAT", "CHECK DIGIT", "VALID", "SERVICE", "REASON"]);
        for candidate in &detection.candidates {
            let check = match candidate.checksum {
                Checksum::None => "none (shape only)".to_string(),
                checksum => checksum.to_string(),
            };
            table.add_row([
                candidate.carrier.to_string(),
                candidate.name.clone(),
                candidate.format.to_string(),
                check,
                if candidate.valid { "yes" } else { "no" }.to_string(),
                candidate.service.clone().unwrap_or_default(),
                candidate.reason().unwrap_or_default(),
            ]);
        }
        println!("{}", detection.tracking_number);
        println!("{table}");
        match detection.best().filter(|best| best.valid) {
            Some(best) => {
                println!("best: {} ({}), valid", best.carrier, best.name);
                println!("track: {}", best.tracking_url);
            }
            None => println!("valid for no carrier"),
        }
    }
    Ok(if valid { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
