//! The fast path of [`Reply::decode`](super::Reply::decode): a serde `Deserializer` over the
//! reply's text (already checked to be UTF-8) that reads the shapes replies are made of
//! (objects, lists, strings without escapes, `null`, `true`, `false`) itself, and hands every
//! other value (numbers, strings with escapes, anything a type asks for in a way this path does
//! not read itself) to `serde_json` on the slice of text that value spans.
//!
//! It is an optimisation only, never a second opinion: it makes the calls on the type's visitor
//! that `serde_json` makes for the same text, and on anything it does not accept (invalid
//! JSON, a value of the wrong type, a missing field, nesting deeper than [`MAX_DEPTH`]) it
//! returns [`Bail`], and the caller decodes the whole body again with `serde_json`. So what a
//! reply decodes to, and every error and its message, are `serde_json`'s.
//!
//! What it saves (callgrind, `benches/decode_count.rs`): a `User` decodes in 3,760
//! instructions instead of 4,680, `get_users` of 10,000 users in 4,440 per user instead of
//! 5,470. `serde_json`'s string reader works for any source (a scratch buffer, position
//! tracking for error messages, control characters checked apart), and every value goes
//! through its error-position fixing; here a string without escapes is one scan, 8 bytes at
//! a time, and a borrowed slice. The reply's main list also tells its length ahead
//! ([`Seq`]'s `size_hint`), so that `models::List` allocates it once. What it costs: a
//! number goes through a `serde_json` deserializer of its own (a reply of numbers, like the
//! password policy, decodes about 5% slower), and a body with an error is read twice.

use serde::de::{self, DeserializeSeed, Visitor};
use serde::forward_to_deserialize_any;
use std::cell::Cell;
use std::fmt;

/// Why the fast path gave up: the caller decodes the body with `serde_json` instead, which
/// says what is wrong (or decodes what this path does not read).
#[derive(Debug)]
pub(crate) struct Bail;

impl fmt::Display for Bail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not decoded by the fast path")
    }
}

impl std::error::Error for Bail {}

impl de::Error for Bail {
    // Errors of visitors (a missing field, a wrong type) carry no message here: the body is
    // decoded again by `serde_json`, whose error is the one reported.
    fn custom<T: fmt::Display>(_: T) -> Self {
        Bail
    }
}

/// Nesting of lists and objects beyond which the fast path gives up. `serde_json` refuses
/// nesting of 128; giving up well before leaves that error (and the stack depth) to it.
const MAX_DEPTH: usize = 100;

/// Decodes `text` as `T` the way `serde_json::from_str` does, or [`Bail`].
pub(crate) fn from_str<'de, T: de::Deserialize<'de>>(text: &'de str) -> Result<T, Bail> {
    let mut de = Fast {
        text,
        pos: 0,
        depth: 0,
        scan_budget: Cell::new(text.len().saturating_mul(2)),
    };
    let value = T::deserialize(&mut de)?;
    // As `serde_json::Deserializer::end`: only whitespace may follow.
    match de.peek() {
        None => Ok(value),
        Some(_) => Err(Bail),
    }
}

/// The reader: the text and where it is in it.
struct Fast<'de> {
    text: &'de str,
    /// Byte offset of the next byte to read; always at most `text.len()`.
    pos: usize,
    /// Lists and objects open around `pos`.
    depth: usize,
    /// Bytes the lists' element counts may still read ahead: at most twice the text in all,
    /// however deep lists nest in lists.
    scan_budget: Cell<usize>,
}

/// One in each byte of a word.
const ONES: u64 = u64::MAX / 255;
/// The high bit of each byte of a word.
const HIGH: u64 = ONES << 7;

/// The bytes of `word` (little-endian) that end a plain string: `"`, `\` and control
/// characters (below 0x20), as high bits; exact up to the first such byte, which is all
/// that is used (Mycroft's test, as `serde_json`'s own scan).
#[inline(always)]
fn string_stops(word: u64) -> u64 {
    let control = word.wrapping_sub(ONES * 0x20) & !word;
    let quote = word ^ (ONES * u64::from(b'"'));
    let quote = quote.wrapping_sub(ONES) & !quote;
    let backslash = word ^ (ONES * u64::from(b'\\'));
    let backslash = backslash.wrapping_sub(ONES) & !backslash;
    (control | quote | backslash) & HIGH
}

impl<'de> Fast<'de> {
    /// Skips JSON whitespace and returns the next byte, not consuming it.
    #[inline(always)]
    fn peek(&mut self) -> Option<u8> {
        let bytes = self.text.as_bytes();
        // Most values and separators follow without whitespace.
        match bytes.get(self.pos) {
            Some(&b) if b > b' ' => return Some(b),
            _ => {}
        }
        while let Some(&b) = bytes.get(self.pos) {
            match b {
                b' ' | b'\n' | b'\t' | b'\r' => self.pos += 1,
                _ => return Some(b),
            }
        }
        None
    }

    /// Reads `word` (`null`, `true`, `false`) at `pos`.
    #[inline]
    fn literal(&mut self, word: &[u8]) -> Result<(), Bail> {
        let end = self.pos + word.len();
        if self.text.as_bytes().get(self.pos..end) == Some(word) {
            self.pos = end;
            Ok(())
        } else {
            Err(Bail)
        }
    }

    /// The string whose opening quote is at `pos`, when it has no escape: the text between
    /// the quotes, `pos` then after the closing quote. `None` (and `pos` unchanged) when it
    /// has an escape; [`Bail`] on a control character or no closing quote (`serde_json`
    /// refuses both).
    #[inline]
    fn plain_str(&mut self) -> Result<Option<&'de str>, Bail> {
        let bytes = self.text.as_bytes();
        let start = self.pos + 1;
        let mut i = start;
        // Eight bytes at a time while eight are left, then one at a time.
        let stop = loop {
            match bytes.get(i..).and_then(<[u8]>::first_chunk::<8>) {
                Some(chunk) => {
                    let found = string_stops(u64::from_le_bytes(*chunk));
                    if found != 0 {
                        i += (found.trailing_zeros() / 8) as usize;
                        break bytes.get(i).copied();
                    }
                    i += 8;
                }
                None => {
                    while let Some(&b) = bytes.get(i) {
                        if b == b'"' || b == b'\\' || b < 0x20 {
                            break;
                        }
                        i += 1;
                    }
                    break bytes.get(i).copied();
                }
            }
        };
        match stop {
            Some(b'"') => {
                // Both ends are next to an ASCII quote, so on character boundaries.
                let s = self.text.get(start..i).ok_or(Bail)?;
                self.pos = i + 1;
                Ok(Some(s))
            }
            Some(b'\\') => Ok(None),
            _ => Err(Bail),
        }
    }

    /// Where the value starting at `pos` ends, for handing it to `serde_json`: a string at
    /// its closing quote, a list or object at its closing bracket, anything else (a number,
    /// a literal, something invalid) at the next whitespace, `,`, `]`, `}` or the end. Only
    /// finds the end: `serde_json` checks what is in between, and refuses a slice that is
    /// not exactly one value. [`Bail`] when nesting would pass [`MAX_DEPTH`].
    fn value_end(&self) -> Result<usize, Bail> {
        let bytes = self.text.as_bytes();
        let mut i = self.pos;
        match bytes.get(i) {
            None => Err(Bail),
            Some(b'"') => string_end(bytes, i),
            Some(b'[' | b'{') => {
                let mut depth = 0usize;
                while let Some(&b) = bytes.get(i) {
                    match b {
                        b'"' => {
                            i = string_end(bytes, i)?;
                            continue;
                        }
                        b'[' | b'{' => {
                            depth += 1;
                            if self.depth + depth > MAX_DEPTH {
                                return Err(Bail);
                            }
                        }
                        b']' | b'}' => {
                            depth -= 1;
                            if depth == 0 {
                                return Ok(i + 1);
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
                Err(Bail)
            }
            Some(_) => {
                while let Some(&b) = bytes.get(i) {
                    if matches!(b, b' ' | b'\n' | b'\t' | b'\r' | b',' | b']' | b'}') {
                        break;
                    }
                    i += 1;
                }
                Ok(i)
            }
        }
    }

    /// Hands the value at `pos` to `serde_json`: `call` is the `Deserializer` method the type
    /// asked for, run on the slice the value spans, which must be all of that slice.
    #[cold]
    fn delegate<T>(
        &mut self,
        call: impl FnOnce(
            &mut serde_json::Deserializer<serde_json::de::StrRead<'de>>,
        ) -> Result<T, serde_json::Error>,
    ) -> Result<T, Bail> {
        let end = self.value_end()?;
        let text = self.text.get(self.pos..end).ok_or(Bail)?;
        let mut de = serde_json::Deserializer::from_str(text);
        let value = call(&mut de).map_err(|_| Bail)?;
        de.end().map_err(|_| Bail)?;
        self.pos = end;
        Ok(value)
    }

    /// A list at `pos` (its `[`), read by `visitor`, which must read all of it.
    #[inline]
    fn seq<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value, Bail> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Bail);
        }
        self.pos += 1;
        let start = self.pos;
        let value = visitor.visit_seq(Seq {
            de: self,
            first: true,
            start,
            read: 0,
        })?;
        self.depth -= 1;
        match self.peek() {
            Some(b']') => {
                self.pos += 1;
                Ok(value)
            }
            _ => Err(Bail),
        }
    }

    /// An object at `pos` (its `{`), read by `visitor`, which must read all of it.
    #[inline]
    fn map<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value, Bail> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Bail);
        }
        self.pos += 1;
        let value = visitor.visit_map(Map {
            de: self,
            first: true,
        })?;
        self.depth -= 1;
        match self.peek() {
            Some(b'}') => {
                self.pos += 1;
                Ok(value)
            }
            _ => Err(Bail),
        }
    }

    /// A string at `pos` (its opening quote), as `serde_json` gives it: borrowed from the
    /// text when it has no escape, else (from `serde_json`) unescaped.
    #[inline]
    fn string<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value, Bail> {
        match self.plain_str()? {
            Some(s) => visitor.visit_borrowed_str(s),
            None => self.delegate(|de| de::Deserializer::deserialize_str(de, visitor)),
        }
    }
}

/// The end (after the closing quote) of the string whose opening quote is at `start`;
/// a backslash escapes the byte after it. Only finds the end (what is between is checked
/// where it is read).
fn string_end(bytes: &[u8], start: usize) -> Result<usize, Bail> {
    let mut i = start + 1;
    loop {
        // Eight bytes at a time to the next quote or backslash.
        while let Some(chunk) = bytes.get(i..).and_then(<[u8]>::first_chunk::<8>) {
            let word = u64::from_le_bytes(*chunk);
            let quote = word ^ (ONES * u64::from(b'"'));
            let backslash = word ^ (ONES * u64::from(b'\\'));
            let found = ((quote.wrapping_sub(ONES) & !quote)
                | (backslash.wrapping_sub(ONES) & !backslash))
                & HIGH;
            if found != 0 {
                i += (found.trailing_zeros() / 8) as usize;
                break;
            }
            i += 8;
        }
        match bytes.get(i) {
            Some(b'"') => return Ok(i + 1),
            Some(b'\\') => i += 2,
            Some(_) => i += 1,
            None => return Err(Bail),
        }
    }
}

/// A `Deserializer` method handed to `serde_json` as it is.
macro_rules! delegate {
    ($($method:ident)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Bail> {
                self.peek();
                self.delegate(|de| de::Deserializer::$method(de, visitor))
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for &mut Fast<'de> {
    type Error = Bail;

    #[inline]
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Bail> {
        match self.peek() {
            Some(b'"') => self.string(visitor),
            Some(b'{') => self.map(visitor),
            Some(b'[') => self.seq(visitor),
            Some(b'n') => {
                self.literal(b"null")?;
                visitor.visit_unit()
            }
            Some(b't') => {
                self.literal(b"true")?;
                visitor.visit_bool(true)
            }
            Some(b'f') => {
                self.literal(b"false")?;
                visitor.visit_bool(false)
            }
            // Numbers: `serde_json` decides integer or float, and how a float rounds.
            _ => self.delegate(|de| de::Deserializer::deserialize_any(de, visitor)),
        }
    }

    #[inline]
    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Bail> {
        match self.peek() {
            Some(b'"') => self.string(visitor),
            _ => Err(Bail),
        }
    }

    #[inline]
    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Bail> {
        self.deserialize_str(visitor)
    }

    #[inline]
    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Bail> {
        self.deserialize_str(visitor)
    }

    #[inline]
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Bail> {
        match self.peek() {
            Some(b'n') => {
                self.literal(b"null")?;
                visitor.visit_none()
            }
            _ => visitor.visit_some(self),
        }
    }

    #[inline]
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Bail> {
        match self.peek() {
            Some(b'[') => self.seq(visitor),
            _ => Err(Bail),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, Bail> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, Bail> {
        self.deserialize_seq(visitor)
    }

    #[inline]
    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Bail> {
        match self.peek() {
            Some(b'{') => self.map(visitor),
            _ => Err(Bail),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Bail> {
        match self.peek() {
            Some(b'{') => self.map(visitor),
            Some(b'[') => self.seq(visitor),
            _ => Err(Bail),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Bail> {
        // `serde_json`'s own types (`RawValue`, numbers kept as text) read the text
        // themselves through names of this form.
        if name.starts_with("$serde_json") {
            self.peek();
            self.delegate(|de| de::Deserializer::deserialize_newtype_struct(de, name, visitor))
        } else {
            visitor.visit_newtype_struct(self)
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Bail> {
        self.peek();
        self.delegate(|de| de::Deserializer::deserialize_unit_struct(de, name, visitor))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Bail> {
        self.peek();
        self.delegate(|de| de::Deserializer::deserialize_enum(de, name, variants, visitor))
    }

    delegate! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64
        deserialize_u128 deserialize_f32 deserialize_f64 deserialize_char deserialize_bytes
        deserialize_byte_buf deserialize_unit deserialize_ignored_any
    }
}

/// The elements of a list.
struct Seq<'a, 'de> {
    de: &'a mut Fast<'de>,
    first: bool,
    /// Where the first element starts (after the `[`).
    start: usize,
    /// Elements read so far.
    read: usize,
}

/// The commas at the top level of the list whose remaining elements start at `start`,
/// whether anything but whitespace comes before its `]`, and where that `]` is; `None` when
/// the text ends first or the list is longer than `budget` bytes. Strings are skipped whole,
/// nested lists and objects counted by their brackets: exact for well-formed JSON, and used
/// only as the list's expected length.
fn scan_list(bytes: &[u8], start: usize, budget: usize) -> Option<(usize, bool, usize)> {
    let bytes = bytes.get(..start.saturating_add(budget).min(bytes.len()))?;
    let mut i = start;
    let mut depth = 0usize;
    let mut commas = 0usize;
    let mut empty = true;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' => {
                empty = false;
                i = string_end(bytes, i).ok()?;
                continue;
            }
            b'[' | b'{' => {
                empty = false;
                depth += 1;
            }
            b']' | b'}' => {
                if depth == 0 {
                    return Some((commas, empty, i));
                }
                depth -= 1;
            }
            b',' if depth == 0 => commas += 1,
            b' ' | b'\n' | b'\t' | b'\r' => {}
            _ => empty = false,
        }
        i += 1;
    }
    None
}

impl<'de> de::SeqAccess<'de> for Seq<'_, 'de> {
    type Error = Bail;

    /// How many elements are left, for the list's capacity only (`models::List` asks once a
    /// list has 16 elements; serde's `Vec` asks at its start). Before the first element:
    /// nothing, as `serde_json`. A list at the top of the reply or in its top object (the
    /// list of `get_users`, of `get_groups`), which the rest of the reply is mostly made of:
    /// the bytes left over the bytes each element took so far, a sixteenth more (an
    /// estimate: `models::List` gives back what it did not use). A list deeper in (a
    /// group's members): counted exactly by reading it ahead once (all such counts read at
    /// most twice the reply).
    fn size_hint(&self) -> Option<usize> {
        if self.read == 0 {
            return None;
        }
        if self.de.depth <= 2 {
            let per_element = (self.de.pos.saturating_sub(self.start) / self.read).max(1);
            let left = self.de.text.len().saturating_sub(self.de.pos) / per_element;
            return Some(left.saturating_add(left / 16));
        }
        let (start, budget) = (self.de.pos, self.de.scan_budget.take());
        let (commas, _, end) = scan_list(self.de.text.as_bytes(), start, budget)?;
        self.de
            .scan_budget
            .set(budget.saturating_sub(end.saturating_sub(start)));
        // After an element, each comma comes before one more.
        Some(commas)
    }

    #[inline]
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Bail> {
        match self.de.peek() {
            Some(b']') => return Ok(None),
            Some(_) if self.first => self.first = false,
            Some(b',') => {
                self.de.pos += 1;
                match self.de.peek() {
                    Some(b']') | None => return Err(Bail),
                    Some(_) => {}
                }
            }
            _ => return Err(Bail),
        }
        let element = seed.deserialize(&mut *self.de)?;
        self.read += 1;
        Ok(Some(element))
    }
}

/// The entries of an object.
struct Map<'a, 'de> {
    de: &'a mut Fast<'de>,
    first: bool,
}

impl<'de> de::MapAccess<'de> for Map<'_, 'de> {
    type Error = Bail;

    #[inline]
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Bail> {
        match self.de.peek() {
            Some(b'}') => return Ok(None),
            Some(b'"') if self.first => self.first = false,
            Some(b',') if !self.first => {
                self.de.pos += 1;
                if self.de.peek() != Some(b'"') {
                    return Err(Bail);
                }
            }
            _ => return Err(Bail),
        }
        seed.deserialize(Key { de: &mut *self.de }).map(Some)
    }

    #[inline]
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Bail> {
        if self.de.peek() != Some(b':') {
            return Err(Bail);
        }
        self.de.pos += 1;
        seed.deserialize(&mut *self.de)
    }
}

/// A key of an object, `pos` at its opening quote. `serde_json` reads a key as a string
/// whatever the type asks for, except numbers, `bool`, `Option`, newtypes, enums and bytes,
/// which it reads in ways of its own: those give up here.
struct Key<'a, 'de> {
    de: &'a mut Fast<'de>,
}

impl<'de> de::Deserializer<'de> for Key<'_, 'de> {
    type Error = Bail;

    #[inline]
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Bail> {
        self.de.string(visitor)
    }

    #[inline]
    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Bail> {
        self.de.string(visitor)
    }

    #[inline]
    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Bail> {
        self.de.string(visitor)
    }

    #[inline]
    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Bail> {
        self.de.string(visitor)
    }

    forward_to_deserialize_any! {
        char unit unit_struct seq tuple tuple_struct map struct ignored_any
    }

    fn deserialize_bool<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Bail> {
        Err(Bail)
    }
    fn deserialize_i8<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Bail> {
        Err(Bail)
    }
    fn deserialize_i16<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Bail> {
        Err(Bail)
    }
    fn deserialize_i32<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Bail> {
        Err(Bail)
    }
    fn deserialize_i64<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Bail> {
        Err(Bail)
    }
    fn deserialize_i128<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Bail> {
        Err(Bail)
    }
    fn deserialize_u8<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Bail> {
        Err(Bail)
    }
    fn deserialize_u16<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Bail> {
        Err(Bail)
    }
    fn deserialize_u32<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Bail> {
        Err(Bail)
    }
    fn deserialize_u64<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Bail> {
        Err(Bail)
    }
    fn deserialize_u128<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Bail> {
        Err(Bail)
    }
    fn deserialize_f32<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Bail> {
        Err(Bail)
    }
    fn deserialize_f64<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Bail> {
        Err(Bail)
    }
    fn deserialize_option<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Bail> {
        Err(Bail)
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: V,
    ) -> Result<V::Value, Bail> {
        Err(Bail)
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Bail> {
        Err(Bail)
    }
    fn deserialize_bytes<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Bail> {
        Err(Bail)
    }
    fn deserialize_byte_buf<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Bail> {
        Err(Bail)
    }
}

#[cfg(test)]
mod tests {
    //! The fast path against `serde_json`: whatever it accepts it must decode to what
    //! `serde_json` does; what it gives up on, `Reply::decode` hands to `serde_json`.

    use super::*;
    use crate::Reply;
    use crate::models::{Group, SessionInfo, User, UserList, WorkspaceList};
    use serde::Deserialize;
    use serde::de::DeserializeOwned;
    use serde_json::Value;
    use std::collections::BTreeMap;

    /// A type that asks for most of the `Deserializer` methods: numbers, chars, enums,
    /// tuples, newtypes, unit structs, fields it ignores.
    #[derive(Debug, PartialEq, Deserialize)]
    struct Assorted {
        #[serde(default)]
        small: Option<u8>,
        #[serde(default)]
        signed: Option<i64>,
        #[serde(default)]
        float: Option<f64>,
        #[serde(default)]
        letter: Option<char>,
        #[serde(default)]
        flag: Option<bool>,
        #[serde(default)]
        kind: Option<Kind>,
        #[serde(default)]
        pair: Option<(u32, String)>,
        #[serde(default)]
        wrapped: Option<Wrapped>,
        #[serde(default)]
        nothing: Option<Nothing>,
        #[serde(default)]
        unit: Option<()>,
        #[serde(default)]
        bytes: Option<serde_bytes_like::Bytes>,
        #[serde(default)]
        by_number: Option<BTreeMap<u32, String>>,
        #[serde(default)]
        list: Vec<Value>,
        #[serde(default)]
        text: String,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    enum Kind {
        Plain,
        Pair(u8, u8),
        Named { x: i32 },
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Wrapped(String);

    #[derive(Debug, PartialEq, Deserialize)]
    struct Nothing;

    mod serde_bytes_like {
        /// Bytes through `deserialize_byte_buf`.
        #[derive(Debug, PartialEq)]
        pub struct Bytes(pub Vec<u8>);
        impl<'de> serde::Deserialize<'de> for Bytes {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> serde::de::Visitor<'de> for V {
                    type Value = Bytes;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str("bytes")
                    }
                    fn visit_bytes<E>(self, v: &[u8]) -> Result<Bytes, E> {
                        Ok(Bytes(v.to_vec()))
                    }
                    fn visit_seq<A: serde::de::SeqAccess<'de>>(
                        self,
                        mut seq: A,
                    ) -> Result<Bytes, A::Error> {
                        let mut out = Vec::new();
                        while let Some(b) = seq.next_element()? {
                            out.push(b);
                        }
                        Ok(Bytes(out))
                    }
                }
                d.deserialize_byte_buf(V)
            }
        }
    }

    /// Whether the fast path accepted `text` as `T`; fails when it accepted it as something
    /// else than `serde_json` did, or when `Reply::decode` differs from `serde_json`.
    fn agree<T: DeserializeOwned + PartialEq + fmt::Debug>(text: &str) -> bool {
        let serde = serde_json::from_str::<T>(text);
        let fast = from_str::<T>(text);
        let accepted = fast.is_ok();
        if let Ok(fast) = fast {
            match &serde {
                Ok(serde) => assert_eq!(&fast, serde, "{text:?}"),
                Err(e) => panic!("fast path accepted what serde_json refuses ({e}): {text:?}"),
            }
        }
        // (An empty body has rules of its own: see `Reply::decode`.)
        if !text.bytes().all(|b| b.is_ascii_whitespace()) {
            let reply = Reply::from_parts("test", 200, text.as_bytes().to_vec()).decode::<T>();
            match (&reply, &serde) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{text:?}"),
                (Err(a), Err(b)) => {
                    let a = std::error::Error::source(a).map(|s| s.to_string());
                    assert_eq!(a, Some(b.to_string()), "{text:?}");
                }
                _ => panic!("Reply::decode {reply:?}, serde_json {serde:?}: {text:?}"),
            }
        }
        accepted
    }

    /// Every type the tests decode, as one check.
    fn agree_all(text: &str) {
        agree::<User>(text);
        agree::<UserList>(text);
        agree::<Vec<Group>>(text);
        agree::<WorkspaceList>(text);
        agree::<SessionInfo>(text);
        agree::<Value>(text);
        agree::<Assorted>(text);
        agree::<Vec<Assorted>>(text);
        agree::<BTreeMap<String, Value>>(text);
        agree::<BTreeMap<u32, Value>>(text);
        agree::<(String, u8)>(text);
    }

    const USER: &str = r#"{"email":"admin@acme.example","full_name":"Acme Admin","id":"z63dXPIz70iDYrSsgqaeWC","role":"admin","role_permissions":["admin"],"tenant":"acme","groups":[]}"#;

    #[test]
    fn the_common_shapes_take_the_fast_path() {
        assert!(agree::<User>(USER));
        let list = format!(r#"{{"users":[{USER},{USER}]}}"#);
        assert!(agree::<UserList>(&list));
        // Unknown fields of all kinds, nulls, whitespace.
        let user = " {\n\t\"id\" : \"u\" ,\r\n \"email\":null, \"x\":{\"a\":[true,false,null,\"s\",{}]},\"y\":[] } ";
        assert!(agree::<User>(user));
        assert!(agree::<WorkspaceList>(r#"[{"domain":"a","title":"A"}]"#));
        assert!(agree::<WorkspaceList>(r#"{"workspaces":[],"total":"1"}"#));
        assert!(agree::<Vec<Group>>(
            r#"[{"id":"g","members":[{"id":"u","groups":null}],"projects":[]}]"#
        ));
        assert!(agree::<Value>(r#"{"a":{"b":[[],[{}],"c"]}}"#));
    }

    #[test]
    fn what_the_fast_path_hands_to_serde_json_decodes_the_same() {
        // Escapes (in keys too: `\u0069d` is `id`), numbers of every form, a lone surrogate.
        for text in [
            r#"{"\u0069d":"u","email":"a\"b\\c\/d\n\u00e9\ud83d\ude00"}"#,
            r#"{"id":"u","n":[0,-0,1,-1,18446744073709551615,18446744073709551616,-9223372036854775808,-9223372036854775809,1.5,-2.5e-3,1E400,0.1e1]}"#,
            r#"{"id":"u","bad":"\ud800"}"#,
            r#"{"id":"u","bad":"\x"}"#,
            r#"{"small":7,"signed":-3,"float":2.5,"letter":"é","flag":true,"kind":"Plain","pair":[1,"one"],"wrapped":"w","nothing":null,"unit":null,"bytes":"YWI=","by_number":{"1":"a","2":"b"},"list":[1,"x"],"text":"t","ignored":{"deep":[1,2,{"x":null}]}}"#,
            r#"{"kind":{"Pair":[1,2]}}"#,
            r#"{"kind":{"Named":{"x":-1}}}"#,
            r#"{"bytes":[1,2,3]}"#,
            r#"["a",1]"#,
        ] {
            agree_all(text);
        }
    }

    #[test]
    fn errors_are_serde_jsons() {
        for text in [
            "",
            "   ",
            "{",
            "}",
            "[",
            "{}x",
            "{} {}",
            r#"{"id":"a",}"#,
            r#"{"id" "a"}"#,
            r#"{"id":"a""email":null}"#,
            r#"{,"id":"a"}"#,
            r#"{"id":"a"]"#,
            r#"{"users":[{"id":"a"},]}"#,
            r#"{"users":[{"id":"a"} {"id":"b"}]}"#,
            r#"{"id":nul}"#,
            r#"{"id":"a","x":tru}"#,
            r#"{"id":"a","x":01}"#,
            r#"{"id":"a","x":1.}"#,
            r#"{"id":"a","x":-}"#,
            r#"{"id":"a","x":1-2}"#,
            r#"{"id":"a","x":"unterminated}"#,
            "{\"id\":\"a\u{1}b\"}",
            "{\"id\":\"a\"\u{c}}",
            "{\"id\":\"a\"\u{a0}}",
            r#"{"id":null}"#,
            r#"{"id":5}"#,
            r#"{"id":"a","id":"b"}"#,
            r#"{"email":"a"}"#,
            r#"{"role_permissions":"admin"}"#,
            r#"{"users":[{"id":5}]}"#,
            r#"["a"]"#,
            r#"{"small":300}"#,
            r#"{"letter":"ab"}"#,
            r#"{"kind":"Other"}"#,
            r#"{"pair":[1]}"#,
            r#"{"pair":[1,"a",2]}"#,
            r#"{"nothing":1}"#,
            r#"{"by_number":{"x":"a"}}"#,
            r#"{"ignored":[1,}"#,
            r#"{"ignored":"\q"}"#,
        ] {
            agree_all(text);
        }
    }

    #[test]
    fn duplicates_keep_the_models_rules() {
        // A known field twice is an error naming it; an unknown one keeps its first place
        // and its last value.
        let reply = Reply::from_parts("t", 200, br#"{"id":"a","id":"b"}"#.to_vec());
        let e = reply.decode::<User>().unwrap_err();
        assert!(e.to_string().contains("duplicate field `id`"), "{e}");
        let text = r#"{"x":1,"id":"a","y":"s","x":{"z":null}}"#;
        assert!(agree::<User>(text));
        let text = r#"{"x":"1","id":"a","y":"s","x":{"z":null}}"#;
        assert!(agree::<User>(text));
        let user: User = from_str(text).unwrap();
        assert_eq!(user.extra.keys().collect::<Vec<_>>(), ["x", "y"]);
        assert_eq!(user.extra["x"], serde_json::json!({"z": null}));
    }

    #[test]
    fn nesting_stays_within_serde_jsons_limit() {
        for depth in [1, 50, 99, 100, 101, 126, 127, 128, 129, 200, 10_000] {
            let text = format!(
                r#"{{"id":"u","deep":{}"x"{}}}"#,
                "[".repeat(depth),
                "]".repeat(depth)
            );
            agree::<User>(&text);
            agree::<Value>(&text);
            // The deep part handed to serde_json whole (a number at the bottom).
            let text = format!(
                r#"{{"id":"u","deep":{}1{}}}"#,
                "[".repeat(depth),
                "]".repeat(depth)
            );
            agree::<User>(&text);
            agree::<Value>(&text);
            let text = format!(
                r#"{{"ignored":{}1{}}}"#,
                "[".repeat(depth),
                "]".repeat(depth)
            );
            agree::<Assorted>(&text);
        }
    }

    #[test]
    fn a_list_is_allocated_at_its_size() {
        // The main list, from an estimate (within an eighth of its length).
        let list = format!(r#"{{"users":[{}]}}"#, vec![USER; 1000].join(" ,\n"));
        let users: UserList = from_str(&list).unwrap();
        assert_eq!(users.users.len(), 1000);
        assert!((1000..=1125).contains(&users.users.capacity()));
        let users: UserList = from_str(r#"{"users":[ ]}"#).unwrap();
        assert_eq!(users.users.capacity(), 0);
        // Elements of different sizes: too low an estimate grows the list as before, too
        // high a one is given back.
        let small = r#"{"id":"u"}"#;
        for (first, then) in [(USER, small), (small, USER)] {
            let text = format!(
                "[{},{}]",
                vec![first; 20].join(","),
                vec![then; 200].join(",")
            );
            let users: Vec<User> = from_str(&text).unwrap();
            assert_eq!(users.len(), 220);
            assert!(
                (220..=220 + 220 / 3).contains(&users.capacity()),
                "{}",
                users.capacity()
            );
        }
        // Lists deeper in are counted, skipping strings with brackets, commas and escaped
        // quotes whole.
        let user = r#"{"id":"a,]\"}[","role_permissions":["x,","]"],"y":"{"}"#;
        let text = format!(r#"[{{"id":"g","members":[{}]}}]"#, vec![user; 40].join(","));
        assert!(agree::<Vec<Group>>(&text));
        let groups: Vec<Group> = from_str(&text).unwrap();
        assert_eq!(groups[0].members.capacity(), 40);
        // Short lists grow as they did (1, then 5: not worth counting).
        let users: UserList = from_str(&format!(r#"{{"users":[{user},{user}]}}"#)).unwrap();
        assert_eq!(users.users.capacity(), 5);
    }

    /// Lists in lists, noting which were counted ahead.
    struct Nested(Vec<Nested>);

    thread_local! {
        static COUNTED: Cell<usize> = const { Cell::new(0) };
    }

    impl<'de> Deserialize<'de> for Nested {
        fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Nested;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("lists")
                }
                fn visit_str<E>(self, _: &str) -> Result<Nested, E> {
                    Ok(Nested(Vec::new()))
                }
                fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Nested, A::Error> {
                    let mut out = Vec::new();
                    while let Some(n) = seq.next_element()? {
                        out.push(n);
                        if out.len() == 16 && seq.size_hint().is_some() {
                            COUNTED.with(|c| c.set(c.get() + 1));
                        }
                    }
                    Ok(Nested(out))
                }
            }
            d.deserialize_any(V)
        }
    }

    #[test]
    fn the_list_counts_read_the_text_at_most_twice() {
        // Each level holds all the levels below: counting each would read the text 90 times.
        let depth = 90;
        let level = "\"x\",".repeat(16);
        let text = format!(
            "{}\"x\"{}",
            format!("[{level}").repeat(depth),
            "]".repeat(depth)
        );
        COUNTED.with(|c| c.set(0));
        let nested: Nested = from_str(&text).unwrap();
        assert_eq!(nested.0.len(), 17);
        // Two levels estimated (nothing read ahead), two counted, the rest not.
        let counted = COUNTED.with(Cell::get);
        assert!((3..=5).contains(&counted), "{counted} lists counted");
    }

    /// The property tests. They need `proptest`, a dev-dependency: CI runs the unit tests once
    /// more on the oldest Rust this crate supports, with the dev-dependencies removed (they
    /// need a newer Rust) and `--cfg no_dev_dependencies` set.
    #[cfg(not(no_dev_dependencies))]
    mod props {
        use super::*;
        use proptest::prelude::*;

        /// A list of JSON values as serde_json writes them (every escape it makes), with
        /// whitespace between the elements.
        fn list() -> impl Strategy<Value = (String, usize)> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(Value::from),
                "[a-z\"\\\\,\\[\\]{}:\u{e9}\u{1f600}\n ]{0,20}".prop_map(Value::String),
            ];
            let value = leaf.prop_recursive(3, 16, 4, |inner| {
                prop_oneof![
                    proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                    proptest::collection::vec(("[a-z\",\\]]{0,4}", inner), 0..4)
                        .prop_map(|v| Value::Object(v.into_iter().collect())),
                ]
            });
            let ws = prop_oneof![Just(""), Just(" "), Just("\n\t")];
            proptest::collection::vec((value, ws), 0..40).prop_map(|elements| {
                let len = elements.len();
                let text: Vec<String> = elements
                    .into_iter()
                    .map(|(v, ws)| format!("{ws}{v}{ws}"))
                    .collect();
                (format!("[{}]", text.join(",")), len)
            })
        }

        proptest! {
            #[test]
            fn a_list_is_counted_exactly((text, len) in list()) {
                // As a list deeper in is counted: after its first element.
                let value: Vec<Value> = serde_json::from_str(&text).unwrap();
                prop_assert_eq!(value.len(), len);
                let mut fast = Fast {
                    text: &text,
                    pos: 1,
                    depth: 3,
                    scan_budget: Cell::new(usize::MAX),
                };
                let mut seq = Seq { de: &mut fast, first: true, start: 1, read: 0 };
                prop_assert_eq!(de::SeqAccess::size_hint(&seq), None);
                for read in 1..=len {
                    let _: Option<de::IgnoredAny> = de::SeqAccess::next_element(&mut seq).unwrap();
                    prop_assert_eq!(de::SeqAccess::size_hint(&seq), Some(len - read));
                }
            }
        }

        /// JSON text of a user-like object, with the shapes the fast path reads and those it
        /// hands on or refuses.
        fn text() -> impl Strategy<Value = String> {
            let ws = prop_oneof![
                8 => Just(""),
                2 => Just(" "),
                1 => Just("\n\t "),
                1 => Just("\r\n"),
                1 => Just("\u{c}"),
            ];
            let string = prop_oneof![
                24 => "[a-zA-Z0-9 @._-]{0,24}".prop_map(|s| format!("\"{s}\"")),
                2 => "[a-z]{0,4}".prop_map(|s| format!("\"{s}\\n\\\"\\u00e9\\ud83d\\ude00\"")),
                1 => Just("\"\\ud800\"".to_string()),
                1 => Just("\"\\q\"".to_string()),
                3 => "[^\"\\\\]{0,12}".prop_map(|s| format!("\"{s}\"")),
            ];
            let scalar = prop_oneof![
                6 => string.clone(),
                2 => Just("null".to_string()),
                1 => Just("true".to_string()),
                1 => Just("false".to_string()),
                2 => any::<i64>().prop_map(|n| n.to_string()),
                1 => any::<u64>().prop_map(|n| n.to_string()),
                1 => any::<f64>().prop_map(|n| n.to_string()),
                1 => prop_oneof![
                    Just("-0"), Just("01"), Just("1."), Just("1e5"), Just("-"), Just("1E-400"),
                    Just("nul"), Just("tru"), Just("99999999999999999999999")
                ]
                .prop_map(str::to_string),
            ];
            let value = scalar.prop_recursive(4, 24, 4, move |inner| {
                prop_oneof![
                    proptest::collection::vec(inner.clone(), 0..4)
                        .prop_map(|v| format!("[{}]", v.join(","))),
                    proptest::collection::vec(("[a-z]{1,3}", inner), 0..4).prop_map(|v| {
                        let fields: Vec<String> =
                            v.into_iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                        format!("{{{}}}", fields.join(","))
                    }),
                ]
            });
            let key = prop_oneof![
                2 => prop_oneof![
                    Just("id"), Just("email"), Just("full_name"), Just("role"),
                    Just("role_permissions"), Just("tenant"), Just("groups"), Just("projects"),
                    Just("users"), Just("workspaces"), Just("user_id"), Just("small"),
                    Just("signed"), Just("float"), Just("flag"), Just("kind"), Just("list"),
                    Just("text"), Just("\\u0069d"), Just("é"),
                ]
                .prop_map(str::to_string),
                3 => "[a-z_]{1,8}",
            ];
            let field_value = prop_oneof![
                3 => value,
                2 => proptest::collection::vec(string, 0..3).prop_map(|v| format!("[{}]", v.join(","))),
            ];
            // Mostly with an id first (a `User` needs one), the other fields in any order.
            let id = prop_oneof![
                3 => "[a-zA-Z0-9]{1,22}".prop_map(|s| format!("\"id\":\"{s}\"")),
                1 => Just(String::new()),
            ];
            let fields =
                proptest::collection::vec((key, field_value, ws.clone(), ws.clone()), 0..10);
            let object = (id, fields).prop_map(|(id, fields)| {
                let fields: Vec<String> = std::iter::once(id)
                    .filter(|id| !id.is_empty())
                    .chain(
                        fields
                            .into_iter()
                            .map(|(k, v, a, b)| format!("{a}\"{k}\"{b}:{a}{v}{b}")),
                    )
                    .collect();
                format!("{{{}}}", fields.join(","))
            });
            let shaped = prop_oneof![
                3 => object.clone(),
                2 => proptest::collection::vec(object.clone(), 0..4)
                    .prop_map(|v| format!("{{\"users\":[{}]}}", v.join(","))),
                1 => proptest::collection::vec(object, 0..4).prop_map(|v| format!("[{}]", v.join(","))),
            ];
            // Now and then broken: cut short, a byte changed, something after the end.
            (shaped, ws, 0usize..8, any::<usize>(), any::<u8>()).prop_map(
                |(text, ws, damage, at, byte)| {
                    let at = if text.is_empty() { 0 } else { at % text.len() };
                    let mut text = format!("{ws}{text}{ws}");
                    match damage {
                        0 => {
                            let mut at = at.min(text.len());
                            while !text.is_char_boundary(at) {
                                at -= 1;
                            }
                            text.truncate(at);
                        }
                        1 => {
                            let mut bytes = text.into_bytes();
                            if let Some(b) = bytes.get_mut(at) {
                                *b = byte;
                            }
                            text = String::from_utf8_lossy(&bytes).into_owned();
                        }
                        2 => text.push_str(",}"),
                        _ => {}
                    }
                    text
                },
            )
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

            #[test]
            fn the_fast_path_decodes_what_serde_json_decodes(text in text()) {
                agree_all(&text);
            }
        }
    }
}
