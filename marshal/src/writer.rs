//! Writing a [`Stream`] back: the exact bytes it was read from.
//!
//! Iterative (an explicit task stack), so it cannot overflow the native stack whatever the
//! depth; a stream's depth is anyway bounded by the reader's limit.

use crate::node::{NodeId, Value};
use crate::stream::Stream;

enum Task {
    Node(NodeId),
    Int(i32),
    Byte(u8),
}

/// Writes `stream` as marshal bytes. For a stream read from bytes `b` this returns `b`
/// (exactly the stream's byte range).
pub fn write(stream: &Stream<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(stream.end.saturating_sub(stream.start));
    write_into(stream, &mut out);
    out
}

/// Appends the bytes of `stream` to `out`.
pub fn write_into(stream: &Stream<'_>, out: &mut Vec<u8>) {
    let mut tasks = vec![Task::Node(stream.root)];
    while let Some(task) = tasks.pop() {
        match task {
            Task::Byte(b) => out.push(b),
            Task::Int(v) => out.extend_from_slice(&v.to_le_bytes()),
            Task::Node(id) => write_node(stream, id, out, &mut tasks),
        }
    }
}

fn put_len(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&(n as u32).to_le_bytes());
}

fn write_node(stream: &Stream<'_>, id: NodeId, out: &mut Vec<u8>, tasks: &mut Vec<Task>) {
    let node = stream.node(id);
    let value = node.value;
    if matches!(value, Value::Null) {
        // NULL only occurs as a dict value; its byte is written as read.
        out.push(b'0' | if node.flag_ref { 0x80 } else { 0 });
        return;
    }
    out.push(value.type_code() | if node.flag_ref { 0x80 } else { 0 });
    match value {
        Value::Null
        | Value::None
        | Value::False
        | Value::True
        | Value::StopIteration
        | Value::Ellipsis => {}
        Value::Int(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::Int64(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::Long(d) => out.extend_from_slice(d.raw()),
        Value::Float(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::FloatText(t) => {
            out.push(t.len() as u8);
            out.extend_from_slice(t);
        }
        Value::Complex { re, im } => {
            out.extend_from_slice(&re.to_le_bytes());
            out.extend_from_slice(&im.to_le_bytes());
        }
        Value::ComplexText { raw } => out.extend_from_slice(raw),
        Value::Bytes(data) | Value::Py2Str { data, .. } => {
            put_len(out, data.len());
            out.extend_from_slice(data);
        }
        Value::Str { data, kind } => {
            if kind.is_short() {
                out.push(data.len() as u8);
            } else {
                put_len(out, data.len());
            }
            out.extend_from_slice(data);
        }
        Value::Tuple { items, small } => {
            if small {
                out.push(items.len as u8);
            } else {
                put_len(out, items.len as usize);
            }
            push_children(stream, id, tasks);
        }
        Value::List(items) | Value::Set(items) | Value::FrozenSet(items) => {
            put_len(out, items.len as usize);
            push_children(stream, id, tasks);
        }
        Value::Slice(_) => push_children(stream, id, tasks),
        Value::Dict { end, .. } | Value::FrozenDict { end, .. } => {
            if end != 0 {
                tasks.push(Task::Byte(end));
            }
            push_children(stream, id, tasks);
        }
        Value::Code(_) => {
            let code = stream
                .code_object(id)
                .expect("a Code node has its code object");
            for &f in code.layout.fields().iter().rev() {
                if let Some(v) = code.int_field(f) {
                    tasks.push(Task::Int(v));
                } else if let Some(n) = code.object_field(f) {
                    tasks.push(Task::Node(n));
                }
            }
        }
        Value::Ref { index, .. } | Value::StringRef { index, .. } => {
            out.extend_from_slice(&index.to_le_bytes());
        }
    }
}

fn push_children(stream: &Stream<'_>, id: NodeId, tasks: &mut Vec<Task>) {
    tasks.extend(stream.children(id).iter().rev().map(|&c| Task::Node(c)));
}
