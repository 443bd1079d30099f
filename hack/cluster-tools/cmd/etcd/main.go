// Command etcd is go.etcd.io/etcd/server/v3 (etcdmain), at the version
// k8s.io/kubernetes v1.37.2 pins, for the local kwok cluster.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
