// Package train is nbquery's live CPU trainer for NAS-Bench-201 cells, built
// on gorgonia v0.9.18 (the only package that imports gorgonia).
//
// Run trains one architecture (an NB201 arch string parsed by space/nb201)
// on Fashion-MNIST/MNIST (IDX), CIFAR-10 (binary batches) or an ImageNet-style
// folder, with NB201's network (stem, N cells per stage, residual reduction
// blocks, C channels) and hyper-parameters, and returns a Result keyed like
// the tabular benchmarks (train-accuracy, …, params, flops). It checkpoints
// atomically into Config.OutDir (every CheckpointEvery, at each epoch end,
// and on cancellation, TimeLimit or MaxSteps), resumes bit-exactly with
// Config.Resume, refuses a checkpoint written by another configuration, and
// stops with ErrNonFinite on a NaN/Inf loss without overwriting the last good
// checkpoint. SignalContext turns SIGINT/SIGTERM into a cancellation.
//
// With Config.Space "darts", Run trains a DARTS genotype (space/darts)
// from scratch instead: quark0/darts' evaluation network with C channels and
// Config.Layers cells, auxiliary head (AuxWeight), drop-path (DropPath) and
// cutout (Augment.Cutout). Search runs a DARTS supernet search (first-order
// bilevel, mixed ops over W = softmax(α)⊙M + P) and selects a genotype by
// argmax or DARTS-PT projection, checkpointed like Run so the search and the
// selection resume mid-way (darts_ops.go, darts_net.go, darts_search.go,
// darts_select.go).
//
// With Config.Space "mbv2" (Config.MBV2 the layout), Run trains a
// MobileNetV2 network of the Single-Path NAS space (space/mbv2).
// SearchSinglePath runs Single-Path NAS: a supernet of superkernels
// (superkernel.go: one 5×5 depthwise kernel per searched layer whose ring,
// upper expansion half and whole branch are switched by straight-through
// indicators on trainable thresholds), loss CE + λ·log R with R from a
// LatencyTable (latency.go, measured by MeasureLatency), then the decided
// network trained from scratch (spnas.go, mbv2net.go). Image folders are
// read with torchvision's RandomResizedCrop/flip and centre-crop evaluation
// (augment.go, decoded per batch).
//
// The graph runs on gorgonia's TapeMachine. Heavy or broken pieces are custom
// ops with plain-Go kernels (Conv2D, DepthwiseConv2D, MaxPool, AvgPool,
// GlobalAvgPool, BatchNorm, Indicator); Mixture, ReLU (Rectify), Concat and
// the cross-entropy use stock ops. Every op is checked against finite
// differences in the tests. Matrix products use gonum's BLAS interface; build
// with -tags openblas (Debian: libopenblas-dev) to route SGEMM/DGEMM to
// OpenBLAS. SGD, Adam and RMSProp are own implementations with PyTorch
// semantics and checkpointable state (OptState).
//
// Ownership: Dataset slices returned by the readers belong to the caller.
// Param slices passed to an Optimizer are updated in place and their
// gradients zeroed. Node values produced by a graph are owned by its machine
// and valid until the next run of that machine. Optimizers, models and
// BNState are not safe for concurrent use.
package train
