//go:build !amd64 || noasm

package predictors

const haveAdamAsm = false

func adamAsm(p, g, m, v []float64, c *[6]float64) { panic("predictors: adamAsm without assembly") }
