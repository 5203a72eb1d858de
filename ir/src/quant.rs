//! Quantization annotations: how a node's constants are stored on a chip.
//!
//! After `quantize`, every weight and parameter tensor holds values that the
//! chip can represent exactly, written as floats (so the reference
//! interpreter still runs the graph and shows the deviation from float). The
//! annotation says how to turn them into the chip's integers: a value `x` is
//! stored as the integer `x / scale` (for Loihi weights, the mantissa is
//! `x / (scale · 2^(6 + exp))`).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::entities::TensorId;

/// The storage format of one node's constants.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum QuantKind {
    /// Loihi weights: signed mantissa of `bits` bits (sign included) and a
    /// shared exponent.
    Loihi { bits: u8, exp: i8 },
    /// A signed integer of `bits` bits.
    Int { bits: u8 },
    /// bfloat16 (`scale` is 1).
    Bf16,
    /// TrueNorth: weight `W[i][j] = c[i][j] · s[j][G[i]]`; `types` is the
    /// `i32 [cols]` axon type of each input row, `values` the `f32 [rows,
    /// types]` signed weight per neuron and type (integers times `scale`).
    AxonTypes {
        bits: u8,
        types: TensorId,
        values: TensorId,
    },
}

/// How a node's constants are stored: format and the value of one integer step.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Quant {
    pub kind: QuantKind,
    pub scale: f32,
}

impl Quant {
    /// Tensors the annotation refers to.
    pub fn tensors(&self) -> Vec<TensorId> {
        match self.kind {
            QuantKind::AxonTypes { types, values, .. } => vec![types, values],
            _ => vec![],
        }
    }

    /// The same annotation with tensor ids mapped.
    pub fn remap(self, f: &dyn Fn(TensorId) -> TensorId) -> Quant {
        let kind = match self.kind {
            QuantKind::AxonTypes {
                bits,
                types,
                values,
            } => QuantKind::AxonTypes {
                bits,
                types: f(types),
                values: f(values),
            },
            k => k,
        };
        Quant {
            kind,
            scale: self.scale,
        }
    }
}

impl fmt::Display for Quant {
    /// The text-format spelling: `loihi(bits=8, exp=-2, scale=0.5)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            QuantKind::Loihi { bits, exp } => {
                write!(f, "loihi(bits={bits}, exp={exp}, scale={})", self.scale)
            }
            QuantKind::Int { bits } => write!(f, "int(bits={bits}, scale={})", self.scale),
            QuantKind::Bf16 => write!(f, "bf16(scale={})", self.scale),
            QuantKind::AxonTypes {
                bits,
                types,
                values,
            } => write!(
                f,
                "axon_types(bits={bits}, types={types}, values={values}, scale={})",
                self.scale
            ),
        }
    }
}
