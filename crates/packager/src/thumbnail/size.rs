//! How big a thumbnail is: bounded width, the picture's display aspect.

/// The thumbnail's pixel size for a `width`×`height` picture whose pixels
/// are `sar` (sample aspect ratio, num/den; 0/x or x/0 means square) wide,
/// at most `max_width` wide.
///
/// Both sides are even and at least 2: the JPEG is 4:2:0, whose chroma
/// planes are half the luma size, and odd sizes would crop or smear a
/// column. `None` for a picture with no pixels.
pub(crate) fn thumbnail_size(
    width: u32,
    height: u32,
    sar: (i32, i32),
    max_width: u32,
) -> Option<(u32, u32)> {
    if width == 0 || height == 0 {
        return None;
    }
    // Anamorphic sources (e.g. 1440x1080 at 4:3 pixels) are stretched to
    // square pixels here: a JPEG has no pixel aspect a browser would honour.
    let display_width = match sar {
        (num, den) if num > 0 && den > 0 => {
            u64::from(width) * u64::try_from(num).ok()? / u64::try_from(den).ok()?
        }
        _ => u64::from(width),
    }
    .max(1);
    let out_width = display_width.min(u64::from(max_width.max(2)));
    let out_height = (u64::from(height) * out_width).div_ceil(display_width);
    Some((even(out_width), even(out_height)))
}

fn even(side: u64) -> u32 {
    let side = u32::try_from(side).unwrap_or(u32::MAX - 1);
    (side & !1).max(2)
}

#[cfg(test)]
mod tests {
    use super::thumbnail_size;

    #[test]
    fn large_pictures_shrink_to_the_bound_keeping_their_aspect() {
        assert_eq!(thumbnail_size(1920, 1080, (1, 1), 640), Some((640, 360)));
        assert_eq!(thumbnail_size(1280, 720, (0, 1), 640), Some((640, 360)));
        // 4:3, and portrait.
        assert_eq!(thumbnail_size(1024, 768, (1, 1), 640), Some((640, 480)));
        assert_eq!(thumbnail_size(720, 1280, (1, 1), 640), Some((640, 1138)));
    }

    #[test]
    fn small_pictures_keep_their_size() {
        assert_eq!(thumbnail_size(640, 360, (1, 1), 640), Some((640, 360)));
        assert_eq!(thumbnail_size(320, 180, (1, 1), 640), Some((320, 180)));
    }

    #[test]
    fn sides_are_even_and_never_zero() {
        assert_eq!(thumbnail_size(321, 181, (1, 1), 640), Some((320, 180)));
        assert_eq!(thumbnail_size(4000, 3, (1, 1), 640), Some((640, 2)));
        assert_eq!(thumbnail_size(0, 720, (1, 1), 640), None);
        assert_eq!(thumbnail_size(1280, 0, (1, 1), 640), None);
    }

    #[test]
    fn non_square_pixels_are_stretched_to_square() {
        // HDV: 1440x1080 stored, 16:9 shown.
        assert_eq!(thumbnail_size(1440, 1080, (4, 3), 640), Some((640, 360)));
        // Narrow pixels under the bound stay under it.
        assert_eq!(thumbnail_size(480, 480, (1, 2), 640), Some((240, 480)));
    }
}
