//! Reading LL-HLS playlists the way a player does.

/// The part an LL-HLS playlist hints at next (`EXT-X-PRELOAD-HINT`), as
/// (media sequence number, part index, run prefix of the names).
pub fn preload_hint(text: &str) -> (u64, u32, String) {
    let uri = text
        .lines()
        .find_map(|l| l.strip_prefix("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\""))
        .unwrap_or_else(|| panic!("no preload hint:\n{text}"))
        .trim_end_matches('"');
    // `{run}-{msn}.{part}.m4s`
    let (run, rest) = uri.rsplit_once('-').unwrap();
    let mut numbers = rest.trim_end_matches(".m4s").split('.');
    let msn = numbers.next().unwrap().parse().unwrap();
    let part = numbers.next().unwrap().parse().unwrap();
    (msn, part, run.to_owned())
}

/// Whether `text` lists part `part` of segment `msn` (not merely hints at
/// it), or the whole segment.
pub fn lists(text: &str, run: &str, msn: u64, part: u32) -> bool {
    let uri = format!("URI=\"{run}-{msn}.{part}.m4s\"");
    text.lines().any(|l| {
        (l.starts_with("#EXT-X-PART:") && l.contains(&uri)) || l == format!("{run}-{msn}.m4s")
    })
}
