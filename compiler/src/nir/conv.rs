//! Convolutions and pooling as sparse matrices: a Conv1d/Conv2d or
//! SumPool2d/AvgPool2d node over a `[channels, (height,) width]` input (row
//! major, as PyTorch lays it out) becomes a `[out elements, in elements]`
//! matrix whose entries share the kernel's weights.

use super::linear::{Builder, Csr};
use super::nodes::Padding;

/// A convolution's shape and parameters.
pub struct ConvSpec<'a> {
    /// `[c_out, c_in / groups, k...]`, row major.
    pub weight: &'a [f64],
    pub weight_shape: &'a [usize],
    pub stride: &'a [usize],
    pub padding: &'a Padding,
    pub dilation: &'a [usize],
    pub groups: usize,
}

/// Padding before each spatial dimension, and the output size.
fn geometry(
    input: &[usize],
    kernel: &[usize],
    stride: &[usize],
    dilation: &[usize],
    padding: &Padding,
) -> Result<(Vec<usize>, Vec<usize>), String> {
    let mut pad = Vec::new();
    let mut out = Vec::new();
    for i in 0..input.len() {
        let span = dilation[i] * (kernel[i] - 1) + 1;
        let (p, total) = match padding {
            Padding::Valid => (0, 0),
            Padding::Explicit(p) => (p[i], 2 * p[i]),
            Padding::Same => {
                if stride[i] != 1 {
                    return Err("padding `same` needs stride 1".into());
                }
                let total = span - 1;
                (total / 2, total)
            }
        };
        if input[i] + total < span {
            return Err(format!(
                "the kernel ({} with dilation) is larger than the padded input ({})",
                span,
                input[i] + total
            ));
        }
        pad.push(p);
        out.push((input[i] + total - span) / stride[i] + 1);
    }
    Ok((pad, out))
}

/// Row-major index of `at` in `shape`.
fn index(shape: &[usize], at: &[usize]) -> usize {
    at.iter().zip(shape).fold(0, |acc, (&i, &n)| acc * n + i)
}

/// Every position of a grid of `shape`, row major.
fn positions(shape: &[usize]) -> Vec<Vec<usize>> {
    let mut out = vec![vec![]];
    for &n in shape {
        out = out
            .into_iter()
            .flat_map(|p| {
                (0..n).map(move |i| {
                    let mut q = p.clone();
                    q.push(i);
                    q
                })
            })
            .collect();
    }
    out
}

/// The matrix of a convolution over `input` (`[c_in, spatial...]`), and the
/// output shape `[c_out, spatial...]`. The bias is not part of the matrix.
pub fn conv_matrix(spec: &ConvSpec, input: &[usize]) -> Result<(Csr, Vec<usize>), String> {
    let ws = spec.weight_shape;
    let (c_out, c_in_group) = (ws[0], ws[1]);
    let kernel = &ws[2..];
    if input.len() != kernel.len() + 1 {
        return Err(format!(
            "input of shape {input:?}; a {}-d convolution needs [channels, {}]",
            kernel.len(),
            if kernel.len() == 1 {
                "length"
            } else {
                "height, width"
            }
        ));
    }
    let c_in = input[0];
    if c_in != c_in_group * spec.groups {
        return Err(format!(
            "{c_in} input channels, but the weight takes {c_in_group} per group × {} groups",
            spec.groups
        ));
    }
    let spatial = &input[1..];
    let (pad, out_sp) = geometry(spatial, kernel, spec.stride, spec.dilation, spec.padding)?;
    let out_per_group = c_out / spec.groups;
    let mut out_shape = vec![c_out];
    out_shape.extend(&out_sp);
    let in_len: usize = input.iter().product();
    let rows: usize = out_shape.iter().product();
    let mut b = Builder::new(rows, in_len);
    let kpos = positions(kernel);
    let mut entries: Vec<(usize, f64)> = Vec::new();
    for co in 0..c_out {
        let g = co / out_per_group;
        for op in positions(&out_sp) {
            entries.clear();
            for ci in 0..c_in_group {
                for kp in &kpos {
                    let mut at = vec![g * c_in_group + ci];
                    let mut inside = true;
                    for d in 0..kernel.len() {
                        let x = (op[d] * spec.stride[d] + kp[d] * spec.dilation[d]) as isize
                            - pad[d] as isize;
                        if x < 0 || x as usize >= spatial[d] {
                            inside = false;
                            break;
                        }
                        at.push(x as usize);
                    }
                    if inside {
                        let mut widx = vec![co, ci];
                        widx.extend(kp);
                        entries.push((index(input, &at), spec.weight[index(ws, &widx)]));
                    }
                }
            }
            entries.sort_unstable_by_key(|e| e.0);
            for &(c, w) in &entries {
                b.push(c, w);
            }
            b.end_row();
        }
    }
    Ok((b.finish(), out_shape))
}

/// The matrix of a 2-d sum (or average) pooling over `input` (`[c, h, w]`).
pub fn pool_matrix(
    input: &[usize],
    kernel: &[usize],
    stride: &[usize],
    padding: &[usize],
    average: bool,
) -> Result<(Csr, Vec<usize>), String> {
    if input.len() != 3 {
        return Err(format!(
            "input of shape {input:?}; 2-d pooling needs [channels, height, width]"
        ));
    }
    let (pad, out_sp) = geometry(
        &input[1..],
        kernel,
        stride,
        &[1, 1],
        &Padding::Explicit(padding.to_vec()),
    )?;
    let out_shape = vec![input[0], out_sp[0], out_sp[1]];
    let w = if average {
        1.0 / (kernel[0] * kernel[1]) as f64
    } else {
        1.0
    };
    let mut b = Builder::new(out_shape.iter().product(), input.iter().product());
    for c in 0..input[0] {
        for y in 0..out_sp[0] {
            for x in 0..out_sp[1] {
                for ky in 0..kernel[0] {
                    for kx in 0..kernel[1] {
                        let iy = (y * stride[0] + ky) as isize - pad[0] as isize;
                        let ix = (x * stride[1] + kx) as isize - pad[1] as isize;
                        if iy >= 0
                            && ix >= 0
                            && (iy as usize) < input[1]
                            && (ix as usize) < input[2]
                        {
                            b.push(index(input, &[c, iy as usize, ix as usize]), w);
                        }
                    }
                }
                b.end_row();
            }
        }
    }
    Ok((b.finish(), out_shape))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conv1d_with_padding_matches_a_hand_computed_product() {
        // One channel, kernel [1, 2, 3], padding 1, input length 3:
        // out[0] = 2 x0 + 3 x1, out[1] = x0 + 2 x1 + 3 x2, out[2] = x1 + 2 x2.
        let spec = ConvSpec {
            weight: &[1.0, 2.0, 3.0],
            weight_shape: &[1, 1, 3],
            stride: &[1],
            padding: &Padding::Explicit(vec![1]),
            dilation: &[1],
            groups: 1,
        };
        let (m, shape) = conv_matrix(&spec, &[1, 3]).unwrap();
        assert_eq!(shape, vec![1, 3]);
        assert_eq!(m.apply(&[1.0, 10.0, 100.0]), vec![32.0, 321.0, 210.0]);
    }

    #[test]
    fn conv2d_stride_and_sum_pooling() {
        // A 2x2 kernel of ones, stride 2, over a 4x4 input: 2x2 block sums.
        let spec = ConvSpec {
            weight: &[1.0; 4],
            weight_shape: &[1, 1, 2, 2],
            stride: &[2, 2],
            padding: &Padding::Valid,
            dilation: &[1, 1],
            groups: 1,
        };
        let x: Vec<f64> = (0..16).map(f64::from).collect();
        let (m, shape) = conv_matrix(&spec, &[1, 4, 4]).unwrap();
        assert_eq!(shape, vec![1, 2, 2]);
        assert_eq!(m.apply(&x), vec![10.0, 18.0, 42.0, 50.0]);
        let (p, pshape) = pool_matrix(&[1, 4, 4], &[2, 2], &[2, 2], &[0, 0], false).unwrap();
        assert_eq!(pshape, vec![1, 2, 2]);
        assert_eq!(p, m);
    }
}
