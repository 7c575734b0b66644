//! Values a pickle builds only for their side effect and then throws away with `POP`:
//! cloudpickle's `_function_setstate(f, state) POP`, dill's `_setattr(cell, 'cell_contents',
//! v) POP`, `subimport('pkg.sub') POP` inside a `MARK` region, ... No other object refers to
//! them, so a writer that walks the graph from the root never meets them. To re-emit such a
//! stream ([`Profile::Recorded`](super::Profile::Recorded)), the writer needs each one's
//! position in the source: where its first opcode started.
//!
//! The position comes from replaying the recorded [`Step`](crate::graph::Step)s on a model
//! stack that holds, for each item, the step where the opcodes producing it began (the
//! earliest step among everything it consumed) and its node. A `POP` of a call whose node
//! nothing else refers to yields one discarded value; a `POP` of a container fetched from the
//! memo and filled since yields a late fill.

use crate::graph::{Graph, Mutation, NodeId, NodeKind};
use crate::{Opcode, StackKind};
use hashbrown::HashMap;

/// One discarded value: the node, and the offset of its first opcode with the source's
/// `FRAME` headers removed (the writer in recorded mode writes unframed and puts the frames
/// back at the end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Discarded {
    pub(crate) at: usize,
    pub(crate) what: What,
}

/// What the source wrote at a [`Discarded`] position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum What {
    /// A value nothing refers to, then `POP`.
    Value(NodeId),
    /// A late filling of a list, dict or set that was complete long before: memo `GET` of the
    /// container, its item batches number `from..to` (counting every item-adding opcode applied
    /// to it, in stream order), then `POP` (dill adds a function's globals this way after
    /// building the function).
    Batches {
        node: NodeId,
        from: usize,
        to: usize,
    },
}

#[derive(Clone, Copy)]
struct Item {
    start: usize,
    node: Option<NodeId>,
    mark: bool,
}

/// The discarded values of the first pickle of `graph`, sorted by position, last first (the
/// writer pops them off the end). Empty when the graph has no recorded steps.
pub(crate) fn discarded_values(graph: &Graph) -> Vec<Discarded> {
    if graph.steps.is_empty() {
        return Vec::new();
    }
    let referenced = referenced_nodes(graph);
    let root = graph.pickles.first().map(|p| p.root);
    let steps = &graph.steps;
    let mut stack: Vec<Item> = Vec::new();
    let mut found = Vec::new();
    // Item-adding opcodes seen so far per container, and the ordinal of each such step.
    let mut batch_count: HashMap<NodeId, usize> = HashMap::new();
    let mut batch_ordinal: Vec<usize> = vec![usize::MAX; steps.len()];
    for (i, step) in steps.iter().enumerate() {
        if let (true, Some(node)) = (is_batch(step.op), step.node) {
            if matches!(
                graph.kind(node),
                NodeKind::List(_) | NodeKind::Dict(_) | NodeKind::Set(_)
            ) {
                let n = batch_count.entry(node).or_insert(0);
                batch_ordinal[i] = *n;
                *n += 1;
            }
        }
        match step.op {
            Opcode::Stop => break,
            Opcode::Mark => stack.push(Item {
                start: i,
                node: None,
                mark: true,
            }),
            Opcode::Pop => {
                let Some(item) = stack.pop() else { continue };
                let Some(node) = item.node else { continue };
                if item.mark {
                    continue;
                }
                let at = unframed(graph, steps[item.start].offset);
                let start = &steps[item.start];
                if matches!(start.op, Opcode::Get | Opcode::Binget | Opcode::LongBinget)
                    && start.node == Some(node)
                {
                    // Fetched from the memo, filled, dropped: the batches in between.
                    let ordinals: Vec<usize> = (item.start..i)
                        .filter(|&j| steps[j].node == Some(node) && batch_ordinal[j] != usize::MAX)
                        .map(|j| batch_ordinal[j])
                        .collect();
                    if let (Some(&from), Some(&last)) = (ordinals.first(), ordinals.last()) {
                        found.push(Discarded {
                            at,
                            what: What::Batches {
                                node,
                                from,
                                to: last + 1,
                            },
                        });
                    }
                } else if matches!(graph.kind(node), NodeKind::Object(_))
                    && !referenced[node.index()]
                    && Some(node) != root
                {
                    // Only calls: other unreferenced values popped are the copies the
                    // recursive-tuple trick drops, which the writer reproduces on its own.
                    found.push(Discarded {
                        at,
                        what: What::Value(node),
                    });
                }
            }
            Opcode::Dup => {
                if let Some(&top) = stack.last() {
                    stack.push(Item { start: i, ..top });
                }
            }
            op => {
                let mut start = i;
                let mut consumed_node = None;
                for kind in op.stack_before().iter().rev() {
                    match kind {
                        // Everything above the topmost mark, and the mark itself.
                        StackKind::StackSlice => {
                            while let Some(it) = stack.pop() {
                                start = start.min(it.start);
                                if it.mark {
                                    break;
                                }
                            }
                        }
                        StackKind::Mark => {}
                        _ => {
                            if let Some(it) = stack.pop() {
                                start = start.min(it.start);
                                consumed_node = it.node;
                            }
                        }
                    }
                }
                let after = op.stack_after();
                // MEMOIZE/PUT record the node they store; keep the item's node otherwise.
                let node = step.node.or(if after.len() == 1 {
                    consumed_node
                } else {
                    None
                });
                for _ in after {
                    stack.push(Item {
                        start,
                        node,
                        mark: false,
                    });
                }
            }
        }
    }
    found.sort_by_key(|d| std::cmp::Reverse(d.at));
    found
}

fn is_batch(op: Opcode) -> bool {
    matches!(
        op,
        Opcode::Append | Opcode::Appends | Opcode::Setitem | Opcode::Setitems | Opcode::Additems
    )
}

/// Source offset `offset` without the `FRAME` headers (9 bytes each) before it.
fn unframed(graph: &Graph, offset: u64) -> usize {
    let before = graph.frames.iter().filter(|(o, _)| *o < offset).count() as u64;
    offset.saturating_sub(9 * before) as usize
}

/// Which nodes another node (or a mutation) refers to.
fn referenced_nodes(graph: &Graph) -> Vec<bool> {
    let mut seen = vec![false; graph.nodes.len()];
    let mut mark = |id: NodeId| {
        if let Some(s) = seen.get_mut(id.index()) {
            *s = true;
        }
    };
    for node in &graph.nodes {
        match &node.kind {
            NodeKind::Tuple(items)
            | NodeKind::List(items)
            | NodeKind::Set(items)
            | NodeKind::FrozenSet(items) => items.iter().copied().for_each(&mut mark),
            NodeKind::Dict(pairs) => {
                for &(k, v) in pairs {
                    mark(k);
                    mark(v);
                }
            }
            NodeKind::Object(obj) => {
                mark(obj.callable);
                mark(obj.args);
                if let Some(kw) = obj.kwargs {
                    mark(kw);
                }
            }
            NodeKind::Global(glob) => {
                if let Some((m, n)) = glob.from_stack {
                    mark(m);
                    mark(n);
                }
            }
            NodeKind::Persistent { pid } => mark(*pid),
            NodeKind::ReadOnly { of } => mark(*of),
            _ => {}
        }
    }
    // A mutation's target is not referred to by it (a discarded value may be mutated).
    for (_, m) in &graph.mutation_log {
        match m {
            Mutation::Append(x) | Mutation::Build(x) => mark(*x),
            Mutation::Extend(items) | Mutation::AddItems(items) => {
                items.iter().copied().for_each(&mut mark)
            }
            Mutation::SetItem(k, v) => {
                mark(*k);
                mark(*v);
            }
            Mutation::SetItems(pairs) => {
                for &(k, v) in pairs {
                    mark(k);
                    mark(v);
                }
            }
        }
    }
    seen
}
