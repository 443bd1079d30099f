// Package ports picks free local TCP ports for the processes the test tiers start.
package ports

import "net"

// Free returns n distinct free ports on 127.0.0.1. Every listener stays open until all n are
// chosen: closed one by one, the kernel may hand out the same port twice, and two servers of one
// process then fight over it (a bench run lost its metrics endpoint to the pprof server so).
func Free(n int) ([]int, error) {
	ports := make([]int, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports, nil
}
