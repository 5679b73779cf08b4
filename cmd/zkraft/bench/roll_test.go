package bench

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestRollConfigValidate: each bad flag is refused naming it.
func TestRollConfigValidate(t *testing.T) {
	ok := DefaultRollConfig()
	ok.ZooKeeper = "127.0.0.1:2181"
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	quorum := DefaultRollConfig()
	quorum.Mode = RollModeQuorum
	if err := quorum.Validate(); err != nil {
		t.Fatalf("quorum mode needs no --zookeeper: %v", err)
	}
	cases := map[string]func(*RollConfig){
		"--zookeeper":       func(c *RollConfig) { c.ZooKeeper = "" },
		"--mode":            func(c *RollConfig) { c.Mode = "kraft" },
		"--partitions":      func(c *RollConfig) { c.Partitions = 0 },
		"--rate":            func(c *RollConfig) { c.Rate = 0 },
		"--record-size":     func(c *RollConfig) { c.RecordSize = 0 },
		"--rounds":          func(c *RollConfig) { c.Rounds = 0 },
		"--settle":          func(c *RollConfig) { c.Settle = -time.Second },
		"--start-timeout":   func(c *RollConfig) { c.StartTimeout = 0 },
		"--zkraft-override": func(c *RollConfig) { c.Overrides = []string{"novalue"} },
	}
	for flag, mut := range cases {
		c := ok
		mut(&c)
		err := c.Validate()
		if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), flag) {
			t.Errorf("%s: %v", flag, err)
		}
	}
}

// TestAckGap: the longest gap between consecutive acks touching the window,
// including the silence that spans it, and when it began.
func TestAckGap(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	a := &ackTimes{}
	for _, ms := range []int{0, 10, 20, 900, 910, 30, 5000} { // out of order, as promises may be
		a.add(at(ms))
	}
	if gap, begin := a.maxGap(at(25), at(905)); gap != 870*time.Millisecond || !begin.Equal(at(30)) {
		t.Fatalf("window 25-905: gap %s at %s", gap, begin.Sub(t0))
	}
	// No ack inside the window: the silence around it counts.
	if gap, begin := a.maxGap(at(1000), at(2000)); gap != 4090*time.Millisecond || !begin.Equal(at(910)) {
		t.Fatalf("window 1000-2000: gap %s at %s", gap, begin.Sub(t0))
	}
	if gap, _ := a.maxGap(at(6000), at(7000)); gap != 0 {
		t.Fatalf("after the last ack: gap %s", gap)
	}
}
