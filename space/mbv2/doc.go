// Package mbv2 defines the Single-Path NAS search space over MobileNetV2
// (Stamoulis et al. 2019; dstamoulis/single-path-nas supernet_macro.py): a
// fixed macro layout of 22 MBConv blocks of which 20, in 5 stages of 4, are
// searched. Each searched layer is an MBConv with a 3x3 or 5x5 depthwise
// kernel and expansion 3 or 6, or — except the first layer of a stage — a
// skip (identity): 4^5 * 5^15 ≈ 3.1e13 networks.
//
// An Arch is a value ([20]uint8 of Op). Its string names the ops stage by
// stage, layers separated by ',' and stages by '+', e.g.
// "k3e6,skip,k5e3,skip+k5e6,...". Code is a dense mixed-radix int64 id
// (radix 4 for stage-first layers, 5 otherwise); Sample, Mutate and
// Neighbours move through the space with an injected math/rand/v2 source;
// OneHot is the 100-wide encoding used by the predictors. Macro gives the
// layer geometry (channels, strides) at a width multiplier. The package is a
// leaf: it imports nothing from nbquery, and nothing here allocates except
// String, Parse's errors and Neighbours' dst growth.
package mbv2
