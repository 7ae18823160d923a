//! ffmpeg's `-progress` report: `key=value` lines in blocks that each end
//! with `progress=continue`, the last with `progress=end`.

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Media seconds written (`out_time_us`).
    pub pushed_seconds: f64,
    /// `speed`: media seconds per wall second since ffmpeg started
    /// transcoding, i.e. after it opened its input and connected its output,
    /// so its own start-up is not in it.
    pub speed: f64,
    /// Whether the last block is the final one (`progress=end`).
    pub ended: bool,
}

impl Progress {
    /// The last complete block of a `-progress` file, if it has the figures.
    pub fn parse_last(text: &str) -> Option<Self> {
        let mut pushed = None;
        let mut speed = None;
        let mut last = None;
        for line in text.lines() {
            let Some((key, value)) = line.trim().split_once('=') else {
                continue;
            };
            match key {
                "out_time_us" => pushed = value.parse::<f64>().ok().map(|us| us / 1e6),
                "speed" => speed = value.trim_end_matches('x').trim().parse::<f64>().ok(),
                "progress" => {
                    if let (Some(pushed_seconds), Some(speed)) = (pushed, speed) {
                        last = Some(Self {
                            pushed_seconds,
                            speed,
                            ended: value == "end",
                        });
                    }
                    pushed = None;
                    speed = None;
                }
                _ => {}
            }
        }
        last
    }

    /// Wall seconds ffmpeg spent streaming what it pushed.
    pub fn streaming_seconds(&self) -> Option<f64> {
        (self.speed > 0.0).then(|| self.pushed_seconds / self.speed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_final_block() {
        let text = "frame=46\nout_time_us=1504000\nspeed=   1x\nprogress=continue\n\
                    frame=92\nfps=30.57\nbitrate=N/A\nout_time_us=3008000\nout_time=00:00:03.008000\n\
                    speed=0.999x\nprogress=end\n";
        let progress = Progress::parse_last(text).unwrap();
        assert_eq!(progress.pushed_seconds, 3.008);
        assert_eq!(progress.speed, 0.999);
        assert!(progress.ended);
        assert!((progress.streaming_seconds().unwrap() - 3.011).abs() < 0.001);
    }

    #[test]
    fn ignores_blocks_without_figures() {
        assert_eq!(Progress::parse_last(""), None);
        let text = "out_time_us=N/A\nspeed=N/A\nprogress=continue\nout_time_us=2000000\nspeed=52.3x\nprogress=end\n";
        let progress = Progress::parse_last(text).unwrap();
        assert_eq!(progress.speed, 52.3);
        assert_eq!(
            Progress::parse_last("out_time_us=5\nspeed=N/A\nprogress=end\n"),
            None
        );
    }
}
