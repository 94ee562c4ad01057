package weaknas

// WithDefaults returns c with every zero field set to the value the search
// uses, so that a summary records the real setting (the Factory too: NewFast,
// or NewFastMember under EI, where c has none).
func (c Config) WithDefaults() Config { return c.withDefaults() }
