//! A bit reader for H.264/H.265 RBSP syntax (ITU-T H.264 §7.2): fixed-width
//! fields and Exp-Golomb codes, over a NAL unit with its emulation-prevention
//! bytes removed.

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("bitstream ended at bit {bit_offset} while reading {field}")]
pub struct BitsExhausted {
    pub bit_offset: usize,
    pub field: &'static str,
}

/// Removes `emulation_prevention_three_byte`s (H.264 §7.4.1): `00 00 03` → `00 00`.
pub fn nal_to_rbsp(nal: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(nal.len());
    let mut zeros = 0;
    for &byte in nal {
        if zeros >= 2 && byte == 3 {
            zeros = 0;
            continue;
        }
        zeros = if byte == 0 { zeros + 1 } else { 0 };
        out.push(byte);
    }
    out
}

pub struct BitReader<'a> {
    data: &'a [u8],
    bit: usize,
}

impl<'a> BitReader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Self { data, bit: 0 }
    }

    pub fn bit(&mut self, field: &'static str) -> Result<bool, BitsExhausted> {
        let byte = self.data.get(self.bit / 8).ok_or(BitsExhausted {
            bit_offset: self.bit,
            field,
        })?;
        let value = (byte >> (7 - self.bit % 8)) & 1 == 1;
        self.bit += 1;
        Ok(value)
    }

    pub fn bits(&mut self, count: u32, field: &'static str) -> Result<u32, BitsExhausted> {
        debug_assert!(count <= 32);
        let mut value = 0u32;
        for _ in 0..count {
            value = (value << 1) | u32::from(self.bit(field)?);
        }
        Ok(value)
    }

    pub fn skip(&mut self, count: usize, field: &'static str) -> Result<(), BitsExhausted> {
        if self.bit + count > self.data.len() * 8 {
            return Err(BitsExhausted {
                bit_offset: self.bit,
                field,
            });
        }
        self.bit += count;
        Ok(())
    }

    /// `ue(v)` (H.264 §9.1).
    pub fn ue(&mut self, field: &'static str) -> Result<u32, BitsExhausted> {
        let mut leading_zeros = 0;
        while !self.bit(field)? {
            leading_zeros += 1;
            if leading_zeros > 31 {
                return Err(BitsExhausted {
                    bit_offset: self.bit,
                    field,
                });
            }
        }
        let suffix = self.bits(leading_zeros, field)?;
        Ok(((1u64 << leading_zeros) - 1 + u64::from(suffix)) as u32)
    }

    /// `se(v)` (H.264 §9.1.1).
    pub fn se(&mut self, field: &'static str) -> Result<i32, BitsExhausted> {
        let code = i64::from(self.ue(field)?);
        let magnitude = (code + 1) / 2;
        Ok(if code % 2 == 1 { magnitude } else { -magnitude } as i32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_emulation_prevention_bytes() {
        assert_eq!(
            nal_to_rbsp(&[0x67, 0, 0, 3, 1, 0, 0, 3, 0, 0, 3]),
            vec![0x67, 0, 0, 1, 0, 0, 0, 0]
        );
    }

    #[test]
    fn reads_exp_golomb_codes() {
        // 1 | 010 | 011 | 00100 | 00101 → ue 0, 1, 2, 3, se(4) = -2
        let data = [0b1010_0110, 0b0100_0010, 0b1000_0000];
        let mut reader = BitReader::new(&data);
        assert_eq!(reader.ue("a").unwrap(), 0);
        assert_eq!(reader.ue("b").unwrap(), 1);
        assert_eq!(reader.ue("c").unwrap(), 2);
        assert_eq!(reader.ue("d").unwrap(), 3);
        assert_eq!(reader.se("e").unwrap(), -2);
    }

    #[test]
    fn reports_where_the_bitstream_ran_out() {
        let mut reader = BitReader::new(&[0]);
        let err = reader.ue("pic_width_in_mbs_minus1").unwrap_err();
        assert_eq!(err.field, "pic_width_in_mbs_minus1");
        assert_eq!(err.bit_offset, 8);
    }
}
