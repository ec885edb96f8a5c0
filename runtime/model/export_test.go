package model

// SetNarrowLastLayer turns the last layer's narrowing to the rows lm_head
// reads on or off and returns the previous setting.
func SetNarrowLastLayer(on bool) bool {
	old := narrowLastLayer
	narrowLastLayer = on
	return old
}
