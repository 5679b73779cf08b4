package server

import (
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// TestLogLevels: loggers follow the most specific configured name by dot
// prefix, else the root level (KIP-412's BROKER_LOGGER semantics); unset
// names fall back; the root cannot be unset; Levels lists the loggers
// that wrote and the configured ones.
func TestLogLevels(t *testing.T) {
	obs, logs := observer.New(zapcore.DebugLevel)
	ll := NewLogLevels(obs, zapcore.InfoLevel)
	root := zap.New(ll.Core())
	if got, ok := LogLevelsOf(root.Named("x").With(zap.Int("n", 1))); !ok || got != ll {
		t.Fatal("LogLevelsOf does not find the table through Named and With")
	}
	zkc := root.Named("b1").Named("zk").Named("client")
	broker := root.Named("broker")
	count := func() int { n := logs.Len(); logs.TakeAll(); return n }

	zkc.Debug("hidden")
	broker.Info("shown")
	if n := count(); n != 1 {
		t.Fatalf("%d entries at root INFO, want 1", n)
	}
	if err := ll.SetLevel("b1.zk", "debug"); err != nil {
		t.Fatal(err)
	}
	zkc.Debug("now shown")
	broker.Debug("still hidden")
	if n := count(); n != 1 {
		t.Fatalf("%d entries with b1.zk=DEBUG, want 1", n)
	}
	if err := ll.SetLevel(RootLogger, "OFF"); err != nil {
		t.Fatal(err)
	}
	broker.Error("off")
	zkc.Info("b1.zk still at debug")
	if n := count(); n != 1 {
		t.Fatalf("%d entries with root OFF, want 1", n)
	}
	lv := ll.Levels()
	if lv[RootLogger] != "OFF" || lv["b1.zk"] != "DEBUG" || lv["b1.zk.client"] != "DEBUG" || lv["broker"] != "OFF" {
		t.Fatalf("levels %v", lv)
	}
	if err := ll.UnsetLevel("b1.zk"); err != nil {
		t.Fatal(err)
	}
	zkc.Info("off again")
	if n := count(); n != 0 {
		t.Fatalf("%d entries after unset with root OFF", n)
	}
	if err := ll.UnsetLevel(RootLogger); err == nil {
		t.Fatal("unset root accepted")
	}
	if err := ll.SetLevel("x", "LOUD"); err == nil || !strings.Contains(err.Error(), "LOUD") {
		t.Fatalf("bad level: %v", err)
	}
}
