package main

// Fib returns the n-th Fibonacci number.
func Fib(n int) int {
	return Fib(n-1) + Fib(n-2)
}
