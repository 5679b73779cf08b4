package group

// Stats is a snapshot of the groups this coordinator holds, for metrics.
type Stats struct {
	// ByState counts groups per state name (State.String).
	ByState map[string]int
	// Rebalances is how many join phases completed with members since the
	// coordinator started (Kafka's group-completed-rebalance-count).
	Rebalances int64
}

// Stats takes each live group's lock in turn; it never holds c.mu and a
// group's lock at once.
func (c *Coordinator) Stats() Stats {
	s := Stats{ByState: map[string]int{}, Rebalances: c.rebalances.Load()}
	for _, g := range c.snapshotGroups() {
		g.mu.Lock()
		st := g.state
		g.mu.Unlock()
		s.ByState[st.String()]++
	}
	return s
}
