// showenv is a tiny Windows program for tests/test_wine_cmd.py: a real child process started by
// Wine's cmd.exe prints, for each name it is given, whether its environment has it and the value
// (quoted by Go, so any character shows).
package main

import (
	"fmt"
	"os"
)

func main() {
	for _, name := range os.Args[1:] {
		value, ok := os.LookupEnv(name)
		fmt.Printf("%s %t %q\n", name, ok, value)
	}
}
