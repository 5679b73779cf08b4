package sourcetest_test

import (
	"testing"

	"github.com/zkraft/zkraft/broker/server"
	"github.com/zkraft/zkraft/broker/server/sourcetest"
)

var _ server.Source = (*sourcetest.Mem)(nil)

func TestMem(t *testing.T) {
	sourcetest.Run(t, func(t *testing.T) server.Source {
		return sourcetest.NewMem(sourcetest.BrokerID, sourcetest.Endpoints)
	})
}
