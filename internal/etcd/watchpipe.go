package etcd

import (
	"context"
	"io"
	"sync"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// pipeWatchClient is a pb.WatchClient that runs etcd's watch service in
// this process: watch responses reach the client as the server built them,
// without protobuf marshalling, HTTP/2 framing and a socket in between
// (they were about a tenth of the API server's allocations under load).
//
// Requests from the client are queued without bound, so the client never
// blocks sending. etcd's own in-process adapter blocks both ways and can
// deadlock: the client's run loop waits to send a cancel while the
// server's receive loop waits for its send loop, which waits for the
// client to read. Requests are few and small (one per watch started or
// cancelled, and progress requests), so the queue stays short.
type pipeWatchClient struct {
	srv pb.WatchServer
}

func (c pipeWatchClient) Watch(ctx context.Context, _ ...grpc.CallOption) (pb.Watch_WatchClient, error) {
	ctx, cancel := context.WithCancel(ctx)
	// The server reads what a gRPC client would have sent as metadata
	// (clientv3's require-leader flag) from the incoming context.
	sctx := ctx
	if md, ok := metadata.FromOutgoingContext(ctx); ok {
		sctx = metadata.NewIncomingContext(ctx, md)
	}
	p := &watchPipe{
		ctx:       ctx,
		cancel:    cancel,
		wake:      make(chan struct{}, 1),
		responses: make(chan *pb.WatchResponse, 64),
		done:      make(chan struct{}),
	}
	go func() {
		err := c.srv.Watch(&pipeServerEnd{p: p, ctx: sctx})
		p.mu.Lock()
		p.serverErr = err
		p.mu.Unlock()
		close(p.done)
	}()
	return &pipeClientEnd{p: p}, nil
}

// watchPipe is the state both ends share.
type watchPipe struct {
	ctx    context.Context
	cancel context.CancelFunc

	mu        sync.Mutex
	requests  []*pb.WatchRequest
	closed    bool  // the client called CloseSend
	serverErr error // what the server's Watch returned
	wake      chan struct{}

	responses chan *pb.WatchResponse
	done      chan struct{} // closed when the server's Watch returned
}

// canceled is the error gRPC gives a stream whose context ended.
func (p *watchPipe) canceled() error {
	return status.FromContextError(p.ctx.Err()).Err()
}

// pipeClientEnd is the client's side: a pb.Watch_WatchClient.
type pipeClientEnd struct {
	p *watchPipe
	grpc.ClientStream
}

func (c *pipeClientEnd) Send(req *pb.WatchRequest) error {
	p := c.p
	select {
	case <-p.ctx.Done():
		return p.canceled()
	case <-p.done:
		return io.EOF
	default:
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return status.Error(codes.Internal, "send after CloseSend")
	}
	p.requests = append(p.requests, req)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	return nil
}

func (c *pipeClientEnd) Recv() (*pb.WatchResponse, error) {
	p := c.p
	select {
	case resp := <-p.responses:
		return resp, nil
	case <-p.ctx.Done():
		return nil, p.canceled()
	case <-p.done:
	}
	// The server has ended: hand over what it sent before, then its error.
	select {
	case resp := <-p.responses:
		return resp, nil
	default:
	}
	p.mu.Lock()
	err := p.serverErr
	p.mu.Unlock()
	if err == nil {
		err = io.EOF
	}
	return nil, err
}

func (c *pipeClientEnd) CloseSend() error {
	c.p.mu.Lock()
	c.p.closed = true
	c.p.mu.Unlock()
	select {
	case c.p.wake <- struct{}{}:
	default:
	}
	return nil
}

func (c *pipeClientEnd) Header() (metadata.MD, error) { return metadata.MD{}, nil }
func (c *pipeClientEnd) Trailer() metadata.MD         { return nil }
func (c *pipeClientEnd) Context() context.Context     { return c.p.ctx }

func (c *pipeClientEnd) SendMsg(m any) error {
	req, ok := m.(*pb.WatchRequest)
	if !ok {
		return status.Errorf(codes.Internal, "watch pipe: cannot send %T", m)
	}
	return c.Send(req)
}

func (c *pipeClientEnd) RecvMsg(any) error { return errRecvMsg }

// pipeServerEnd is the server's side: a pb.Watch_WatchServer.
type pipeServerEnd struct {
	p   *watchPipe
	ctx context.Context
	grpc.ServerStream
}

func (s *pipeServerEnd) Recv() (*pb.WatchRequest, error) {
	p := s.p
	for {
		p.mu.Lock()
		if len(p.requests) > 0 {
			req := p.requests[0]
			p.requests[0] = nil
			p.requests = p.requests[1:]
			p.mu.Unlock()
			return req, nil
		}
		closed := p.closed
		p.mu.Unlock()
		if closed {
			return nil, io.EOF
		}
		select {
		case <-p.wake:
		case <-p.ctx.Done():
			return nil, p.canceled()
		}
	}
}

func (s *pipeServerEnd) Send(resp *pb.WatchResponse) error {
	select {
	case s.p.responses <- resp:
		return nil
	case <-s.p.ctx.Done():
		return s.p.canceled()
	}
}

func (s *pipeServerEnd) Context() context.Context     { return s.ctx }
func (s *pipeServerEnd) SetHeader(metadata.MD) error  { return nil }
func (s *pipeServerEnd) SendHeader(metadata.MD) error { return nil }
func (s *pipeServerEnd) SetTrailer(metadata.MD)       {}
func (s *pipeServerEnd) SendMsg(m any) error          { return s.Send(m.(*pb.WatchResponse)) }
func (s *pipeServerEnd) RecvMsg(any) error            { return errRecvMsg }

// errRecvMsg: both of etcd's ends use the typed Recv.
var errRecvMsg = status.Error(codes.Internal, "watch pipe: RecvMsg is not supported, use Recv")
