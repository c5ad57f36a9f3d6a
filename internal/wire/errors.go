package wire

// Error is the body of every answer with an error status.
type Error struct {
	Message string `json:"error"`
}
