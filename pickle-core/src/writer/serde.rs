//! serde serialization (feature `serde`): Rust values to pickles, as `serde-pickle` users do
//! today, with CPython's exact bytes for the resulting Python value.
//!
//! The data model maps to Python as the crate's deserializer ([`crate::serde`]) reads it back:
//!
//! | Rust (serde) | Python |
//! |---|---|
//! | `bool` | `bool` |
//! | integers (`i8`..`i128`, `u8`..`u128`) | `int` |
//! | `f32`, `f64` | `float` |
//! | `char`, `str` | `str` |
//! | bytes (`serde_bytes`) | `bytes` |
//! | `None`, `()`, unit structs | `None` |
//! | `Some(x)`, newtype structs | `x` |
//! | sequences | `list` |
//! | tuples, tuple structs | `tuple` |
//! | maps, structs | `dict` (struct fields as `str` keys, in declaration order) |
//! | unit variant | its name as `str` |
//! | newtype / tuple / struct variant | `{name: value}` / `{name: (fields...)}` / `{name: {field: value}}` |
//!
//! ```
//! #[derive(serde::Serialize)]
//! struct Point { x: i32, label: String }
//! let bytes = brine_pickle_core::writer::serde::to_vec(&Point { x: 1, label: "a".into() }, 4).unwrap();
//! assert_eq!(&bytes[..2], b"\x80\x04");
//! ```

use super::{dumps, Value, WriteError};
use num_bigint::BigInt;
use serde::ser::{self, Serialize};

/// Why a value could not be serialized.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SerError {
    /// A custom error raised by a `Serialize` implementation.
    #[error("{0}")]
    Custom(String),
    /// A map key was serialized without its value (or the reverse).
    #[error("map key without value")]
    MapKeyWithoutValue,
    /// The writer refused the value.
    #[error(transparent)]
    Write(#[from] WriteError),
}

impl ser::Error for SerError {
    fn custom<T: std::fmt::Display>(msg: T) -> SerError {
        SerError::Custom(msg.to_string())
    }
}

/// Serializes `value` and pickles it at `protocol` (CPython's C pickler's bytes).
pub fn to_vec<T: Serialize + ?Sized>(value: &T, protocol: u8) -> Result<Vec<u8>, SerError> {
    let v = to_value(value)?;
    Ok(dumps(&v, protocol)?)
}

/// Serializes `value` into a [`Value`].
pub fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, SerError> {
    value.serialize(ValueSerializer)
}

/// A serde `Serializer` producing a [`Value`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ValueSerializer;

/// Collects the items of a sequence or tuple.
#[derive(Debug)]
pub struct SeqBuilder {
    items: Vec<Value>,
    tuple: bool,
    variant: Option<&'static str>,
}

/// Collects the entries of a map or struct.
#[derive(Debug)]
pub struct MapBuilder {
    pairs: Vec<(Value, Value)>,
    key: Option<Value>,
    variant: Option<&'static str>,
}

fn wrap_variant(variant: Option<&'static str>, value: Value) -> Value {
    match variant {
        Some(name) => Value::Dict(vec![(Value::Str(name.to_string()), value)]),
        None => value,
    }
}

impl ser::Serializer for ValueSerializer {
    type Ok = Value;
    type Error = SerError;
    type SerializeSeq = SeqBuilder;
    type SerializeTuple = SeqBuilder;
    type SerializeTupleStruct = SeqBuilder;
    type SerializeTupleVariant = SeqBuilder;
    type SerializeMap = MapBuilder;
    type SerializeStruct = MapBuilder;
    type SerializeStructVariant = MapBuilder;

    fn serialize_bool(self, v: bool) -> Result<Value, SerError> {
        Ok(Value::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Value, SerError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_i16(self, v: i16) -> Result<Value, SerError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_i32(self, v: i32) -> Result<Value, SerError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_i64(self, v: i64) -> Result<Value, SerError> {
        Ok(Value::Int(v))
    }
    fn serialize_i128(self, v: i128) -> Result<Value, SerError> {
        Ok(match i64::try_from(v) {
            Ok(small) => Value::Int(small),
            Err(_) => Value::BigInt(BigInt::from(v)),
        })
    }
    fn serialize_u8(self, v: u8) -> Result<Value, SerError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_u16(self, v: u16) -> Result<Value, SerError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_u32(self, v: u32) -> Result<Value, SerError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_u64(self, v: u64) -> Result<Value, SerError> {
        self.serialize_u128(v.into())
    }
    fn serialize_u128(self, v: u128) -> Result<Value, SerError> {
        Ok(match i64::try_from(v) {
            Ok(small) => Value::Int(small),
            Err(_) => Value::BigInt(BigInt::from(v)),
        })
    }
    fn serialize_f32(self, v: f32) -> Result<Value, SerError> {
        Ok(Value::Float(v.into()))
    }
    fn serialize_f64(self, v: f64) -> Result<Value, SerError> {
        Ok(Value::Float(v))
    }
    fn serialize_char(self, v: char) -> Result<Value, SerError> {
        Ok(Value::Str(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Value, SerError> {
        Ok(Value::Str(v.to_string()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Value, SerError> {
        Ok(Value::Bytes(v.to_vec()))
    }
    fn serialize_none(self) -> Result<Value, SerError> {
        Ok(Value::None)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Value, SerError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value, SerError> {
        Ok(Value::None)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Value, SerError> {
        Ok(Value::None)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Value, SerError> {
        Ok(Value::Str(variant.to_string()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Value, SerError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Value, SerError> {
        Ok(wrap_variant(Some(variant), value.serialize(self)?))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqBuilder, SerError> {
        Ok(SeqBuilder {
            items: Vec::with_capacity(len.unwrap_or(0).min(4096)),
            tuple: false,
            variant: None,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqBuilder, SerError> {
        Ok(SeqBuilder {
            items: Vec::with_capacity(len.min(4096)),
            tuple: true,
            variant: None,
        })
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<SeqBuilder, SerError> {
        self.serialize_tuple(len)
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<SeqBuilder, SerError> {
        Ok(SeqBuilder {
            items: Vec::with_capacity(len.min(4096)),
            tuple: true,
            variant: Some(variant),
        })
    }
    fn serialize_map(self, len: Option<usize>) -> Result<MapBuilder, SerError> {
        Ok(MapBuilder {
            pairs: Vec::with_capacity(len.unwrap_or(0).min(4096)),
            key: None,
            variant: None,
        })
    }
    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<MapBuilder, SerError> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<MapBuilder, SerError> {
        Ok(MapBuilder {
            pairs: Vec::with_capacity(len.min(4096)),
            key: None,
            variant: Some(variant),
        })
    }
}

impl SeqBuilder {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerError> {
        self.items.push(value.serialize(ValueSerializer)?);
        Ok(())
    }
    fn finish(self) -> Value {
        let v = if self.tuple {
            Value::Tuple(self.items)
        } else {
            Value::List(self.items)
        };
        wrap_variant(self.variant, v)
    }
}

impl ser::SerializeSeq for SeqBuilder {
    type Ok = Value;
    type Error = SerError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerError> {
        self.push(value)
    }
    fn end(self) -> Result<Value, SerError> {
        Ok(self.finish())
    }
}

impl ser::SerializeTuple for SeqBuilder {
    type Ok = Value;
    type Error = SerError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerError> {
        self.push(value)
    }
    fn end(self) -> Result<Value, SerError> {
        Ok(self.finish())
    }
}

impl ser::SerializeTupleStruct for SeqBuilder {
    type Ok = Value;
    type Error = SerError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerError> {
        self.push(value)
    }
    fn end(self) -> Result<Value, SerError> {
        Ok(self.finish())
    }
}

impl ser::SerializeTupleVariant for SeqBuilder {
    type Ok = Value;
    type Error = SerError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerError> {
        self.push(value)
    }
    fn end(self) -> Result<Value, SerError> {
        Ok(self.finish())
    }
}

impl MapBuilder {
    fn finish(self) -> Result<Value, SerError> {
        if self.key.is_some() {
            return Err(SerError::MapKeyWithoutValue);
        }
        Ok(wrap_variant(self.variant, Value::Dict(self.pairs)))
    }
    fn field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), SerError> {
        let v = value.serialize(ValueSerializer)?;
        self.pairs.push((Value::Str(key.to_string()), v));
        Ok(())
    }
}

impl ser::SerializeMap for MapBuilder {
    type Ok = Value;
    type Error = SerError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), SerError> {
        if self.key.is_some() {
            return Err(SerError::MapKeyWithoutValue);
        }
        self.key = Some(key.serialize(ValueSerializer)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerError> {
        let key = self.key.take().ok_or(SerError::MapKeyWithoutValue)?;
        self.pairs.push((key, value.serialize(ValueSerializer)?));
        Ok(())
    }
    fn end(self) -> Result<Value, SerError> {
        self.finish()
    }
}

impl ser::SerializeStruct for MapBuilder {
    type Ok = Value;
    type Error = SerError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), SerError> {
        self.field(key, value)
    }
    fn end(self) -> Result<Value, SerError> {
        self.finish()
    }
}

impl ser::SerializeStructVariant for MapBuilder {
    type Ok = Value;
    type Error = SerError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), SerError> {
        self.field(key, value)
    }
    fn end(self) -> Result<Value, SerError> {
        self.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    enum Shape {
        Unit,
        Circle(f64),
        Pair(i32, i32),
        Rect { w: u32, h: u32 },
    }

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Record {
        id: u64,
        name: String,
        tags: Vec<String>,
        pos: (i32, i32),
        shapes: Vec<Shape>,
        extra: Option<BTreeMap<String, i64>>,
        big: u64,
    }

    fn record() -> Record {
        Record {
            id: 7,
            name: "caf\u{e9}".into(),
            tags: vec!["a".into(), "b".into()],
            pos: (-1, 70000),
            shapes: vec![
                Shape::Unit,
                Shape::Circle(1.5),
                Shape::Pair(1, 2),
                Shape::Rect { w: 3, h: 4 },
            ],
            extra: Some(BTreeMap::from([("k".to_string(), -5)])),
            big: 1 << 40,
        }
    }

    #[test]
    fn serialized_records_read_back_through_the_deserializer_at_every_protocol() {
        for protocol in 0..=5 {
            let bytes = to_vec(&record(), protocol).unwrap();
            let back: Record = crate::serde::from_slice(&bytes).unwrap();
            assert_eq!(back, record(), "protocol {protocol}");
        }
    }

    #[test]
    fn values_map_as_documented() {
        assert_eq!(to_value(&Shape::Unit).unwrap(), Value::Str("Unit".into()));
        assert_eq!(
            to_value(&Shape::Circle(2.0)).unwrap(),
            Value::Dict(vec![(Value::Str("Circle".into()), Value::Float(2.0))])
        );
        assert_eq!(
            to_value(&(1u8, "x")).unwrap(),
            Value::Tuple(vec![Value::Int(1), Value::Str("x".into())])
        );
        assert_eq!(
            to_value(&u128::MAX).unwrap(),
            Value::BigInt(BigInt::from(u128::MAX))
        );
        // CPython: pickle.dumps(2**64 - 1, 2) and pickle.dumps(2**64 - 1, 0)
        assert_eq!(
            to_vec(&u64::MAX, 2).unwrap(),
            b"\x80\x02\x8a\x09\xff\xff\xff\xff\xff\xff\xff\xff\x00."
        );
        assert_eq!(to_vec(&u64::MAX, 0).unwrap(), b"L18446744073709551615L\n.");
        // CPython: pickle.dumps({'a': [1, 2]}, 2)
        assert_eq!(
            to_vec(&BTreeMap::from([("a", vec![1, 2])]), 2).unwrap(),
            b"\x80\x02}q\x00X\x01\x00\x00\x00aq\x01]q\x02(K\x01K\x02es."
        );
    }
}
