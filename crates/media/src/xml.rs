//! The little XML the MPD needs, written by hand: elements with escaped
//! attributes (XML 1.0 §2.4, §3.3.3), nothing else.

use std::fmt::Write;

/// Writes `<name a="v" …` and either `/>` or `>` … `</name>`.
pub(crate) struct XmlWriter {
    out: String,
    open: Vec<&'static str>,
    /// The start tag is still open for attributes.
    in_tag: bool,
}

impl XmlWriter {
    pub(crate) fn new() -> Self {
        Self {
            out: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"),
            open: Vec::new(),
            in_tag: false,
        }
    }

    pub(crate) fn start(&mut self, name: &'static str) -> &mut Self {
        self.close_tag();
        let _ = write!(self.out, "{}<{name}", "  ".repeat(self.open.len()));
        self.open.push(name);
        self.in_tag = true;
        self
    }

    pub(crate) fn attr(&mut self, name: &str, value: impl std::fmt::Display) -> &mut Self {
        debug_assert!(self.in_tag, "attribute {name} outside a start tag");
        let _ = write!(self.out, " {name}=\"");
        escape_into(&mut self.out, &value.to_string());
        self.out.push('"');
        self
    }

    pub(crate) fn attr_opt(
        &mut self,
        name: &str,
        value: Option<impl std::fmt::Display>,
    ) -> &mut Self {
        if let Some(value) = value {
            self.attr(name, value);
        }
        self
    }

    pub(crate) fn end(&mut self) -> &mut Self {
        let name = self.open.pop().expect("end() matches a start()");
        if self.in_tag {
            self.out.push_str("/>\n");
            self.in_tag = false;
        } else {
            let _ = writeln!(self.out, "{}</{name}>", "  ".repeat(self.open.len()));
        }
        self
    }

    pub(crate) fn finish(mut self) -> String {
        while !self.open.is_empty() {
            self.end();
        }
        self.out
    }

    fn close_tag(&mut self) {
        if self.in_tag {
            self.out.push_str(">\n");
            self.in_tag = false;
        }
    }
}

/// Escapes for attribute values in double quotes: the markup characters,
/// and whitespace that attribute normalisation would otherwise turn into
/// spaces (XML 1.0 §3.3.3).
fn escape_into(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nests_and_escapes() {
        let mut xml = XmlWriter::new();
        xml.start("a").attr("x", "1 < 2 & \"q\"\n");
        xml.start("b").attr("y", 'z').end();
        xml.start("c").end();
        assert_eq!(
            xml.finish(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<a x=\"1 &lt; 2 &amp; &quot;q&quot;&#10;\">\n  <b y=\"z\"/>\n  <c/>\n</a>\n"
        );
    }
}
