//! Column names of a part: a trie of property paths under a few roots, plus the built-in
//! fields. Blocks refer to columns by node number, so a path is stored once per part.

use foldhash::HashMap;

use super::bytes::{Corrupt, Reader, corrupt, put_varint};

/// The roots of property paths.
pub(crate) const R_PROPS: u8 = 0;
pub(crate) const R_RESOURCE: u8 = 1;
pub(crate) const R_SCOPE: u8 = 2;
pub(crate) const R_EXT: u8 = 3;
/// Roots at or above this are built-in fields with no path.
pub(crate) const R_BUILTIN: u8 = 16;

/// Built-in fields, in the fixed order they appear in every shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Builtin {
    Level = 16,
    Template,
    Message,
    Exception,
    EventType,
    Renderings,
    TraceId,
    SpanId,
    ParentId,
    SpanStart,
    SpanKind,
}

pub(crate) const BUILTINS: [Builtin; 11] = [
    Builtin::Level,
    Builtin::Template,
    Builtin::Message,
    Builtin::Exception,
    Builtin::EventType,
    Builtin::Renderings,
    Builtin::TraceId,
    Builtin::SpanId,
    Builtin::ParentId,
    Builtin::SpanStart,
    Builtin::SpanKind,
];

/// Nodes `0..4` are the roots of properties, resource, scope and extensions; the built-ins
/// follow; paths are added after them.
pub(crate) const FIRST_BUILTIN_NODE: u32 = 4;
pub(crate) const FIRST_PATH_NODE: u32 = FIRST_BUILTIN_NODE + BUILTINS.len() as u32;

pub(crate) fn builtin_node(b: Builtin) -> u32 {
    FIRST_BUILTIN_NODE + (b as u32 - R_BUILTIN as u32)
}

pub(crate) fn root_node(root: u8) -> u32 {
    u32::from(root)
}

#[derive(Clone, Debug)]
struct Node {
    root: u8,
    /// `u32::MAX` for roots and built-ins.
    parent: u32,
    segment: Box<str>,
    children: HashMap<Box<str>, u32>,
}

/// The names of one part, built while writing or read from its names section.
#[derive(Clone, Debug)]
pub(crate) struct Names {
    nodes: Vec<Node>,
}

impl Default for Names {
    fn default() -> Names {
        let mut nodes = Vec::new();
        for root in [R_PROPS, R_RESOURCE, R_SCOPE, R_EXT] {
            nodes.push(Node {
                root,
                parent: u32::MAX,
                segment: "".into(),
                children: HashMap::default(),
            });
        }
        for b in BUILTINS {
            nodes.push(Node {
                root: b as u8,
                parent: u32::MAX,
                segment: "".into(),
                children: HashMap::default(),
            });
        }
        Names { nodes }
    }
}

impl Names {
    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }

    /// The node for `segment` under `parent`, added if new.
    pub(crate) fn child(&mut self, parent: u32, segment: &str) -> u32 {
        if let Some(&n) = self.nodes[parent as usize].children.get(segment) {
            return n;
        }
        let n = self.nodes.len() as u32;
        let root = self.nodes[parent as usize].root;
        self.nodes[parent as usize]
            .children
            .insert(segment.into(), n);
        self.nodes.push(Node {
            root,
            parent,
            segment: segment.into(),
            children: HashMap::default(),
        });
        n
    }

    /// An existing node, without adding.
    pub(crate) fn find(&self, parent: u32, segment: &str) -> Option<u32> {
        self.nodes
            .get(parent as usize)?
            .children
            .get(segment)
            .copied()
    }

    /// Whether `node` lies strictly below `ancestor`.
    pub(crate) fn is_below(&self, node: u32, ancestor: u32) -> bool {
        let mut n = node;
        while let Some(x) = self.nodes.get(n as usize) {
            if x.parent == u32::MAX {
                return false;
            }
            if x.parent == ancestor {
                return true;
            }
            n = x.parent;
        }
        false
    }

    pub(crate) fn root(&self, node: u32) -> u8 {
        self.nodes[node as usize].root
    }

    /// The path segments from the root (empty for roots and built-ins).
    pub(crate) fn path(&self, node: u32) -> Vec<&str> {
        let mut out = Vec::new();
        let mut n = node;
        while let Some(node) = self.nodes.get(n as usize) {
            if node.parent == u32::MAX {
                break;
            }
            out.push(&*node.segment);
            n = node.parent;
        }
        out.reverse();
        out
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        let added = &self.nodes[FIRST_PATH_NODE as usize..];
        put_varint(out, added.len() as u64);
        for n in added {
            put_varint(out, u64::from(n.parent));
            put_varint(out, n.segment.len() as u64);
            out.extend_from_slice(n.segment.as_bytes());
        }
    }

    pub(crate) fn decode(buf: &[u8]) -> Result<Names, Corrupt> {
        let mut names = Names::default();
        let mut r = Reader::new(buf);
        let n = r.count(2)?;
        for _ in 0..n {
            let parent = r.varint()?;
            let segment = r.str()?;
            let next = names.nodes.len() as u64;
            // A parent is a root or an earlier path node, never a built-in.
            let ok = parent < u64::from(FIRST_BUILTIN_NODE)
                || (parent >= u64::from(FIRST_PATH_NODE) && parent < next);
            if !ok {
                return corrupt(format!("name {next} has bad parent {parent}"));
            }
            let before = names.nodes.len();
            if names.child(parent as u32, segment) as usize != before {
                return corrupt(format!("name {next} repeats a path"));
            }
        }
        if !r.is_empty() {
            return corrupt("trailing bytes after names");
        }
        Ok(names)
    }
}
