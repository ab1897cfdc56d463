//! `cargo run --release -p sensorium-sim --example bench_frame [-- FRAMES]`: time per frame set of the
//! default vehicle (1280×720 image + 64-beam 0.2° sweep ≈ 115k rays, plus truth and map text) on one
//! thread. Prints wall time and, on Linux, the thread's CPU time (from /proc/thread-self/schedstat),
//! which stays meaningful on a machine shared with other jobs.

use sensorium_sim::{SimConfig, Simulator};
use std::time::Instant;

fn cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let frames: u32 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(30);
    let mut sim = Simulator::new(&SimConfig::default(), 7, frames)?;
    let _ = sim.frame_set(0, 0.0); // warm-up
    let (mut render, mut lidar, mut total) = (Vec::new(), Vec::new(), Vec::new());
    let mut points = 0usize;
    for i in 0..frames {
        let (w0, c0) = (Instant::now(), cpu_ns());
        let fs = sim.frame_set(i, 0.0);
        let (w1, c1) = (Instant::now(), cpu_ns());
        points += fs.sweep.points.len();
        let _ = sim.render(f64::from(i) * 0.1);
        let c2 = cpu_ns();
        let _ = sim.sweep(i);
        let c3 = cpu_ns();
        let ms = |a: Option<u64>, b: Option<u64>| a.zip(b).map(|(a, b)| (b - a) as f64 * 1e-6);
        total.push((ms(c0, c1).unwrap_or(f64::NAN), (w1 - w0).as_secs_f64() * 1e3));
        render.push(ms(c1, c2).unwrap_or(f64::NAN));
        lidar.push(ms(c2, c3).unwrap_or(f64::NAN));
    }
    let med = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let mut cpu: Vec<f64> = total.iter().map(|t| t.0).collect();
    let mut wall: Vec<f64> = total.iter().map(|t| t.1).collect();
    println!(
        "frame set (render + sweep + truth): median CPU {:.1} ms, wall {:.1} ms; render {:.1} ms, sweep {:.1} ms (CPU); \
         {} points/sweep over {frames} frames",
        med(&mut cpu),
        med(&mut wall),
        med(&mut render),
        med(&mut lidar),
        points / frames.max(1) as usize
    );
    Ok(())
}
