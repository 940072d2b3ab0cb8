// A C++ crasher for the demangling and inline tests (check_unwind,
// test_languages): built -O2 -g, as C++ ships. Usage: an_cxx abort|segv
//   abort  an exception escapes through a lambda and a template: __cxa_throw
//          finds no handler and calls std::terminate → abort() → SIGABRT
//   segv   ns::Foo<int>::bar() reads through NULL inside ns::load<int>(),
//          which is always inlined into it → SIGSEGV at a pc DWARF places in
//          inlined code
// The frames below main, innermost first:
//   abort: … std::terminate() ← __cxa_throw ← ns::thrower(int) ←
//          main::{lambda(int)#1}::operator()(int) const ← ns::run<…>(…) ← main
//   segv:  ns::load<int>(int const*) [inlined] ← ns::Foo<int>::bar() ←
//          main::{lambda(int)#2}::operator()(int) const ← ns::run<…>(…) ← main
// noipa keeps GCC from inlining or specialising a function whose frame the
// tests expect (noinline alone allows constant propagation into clones).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace ns {

volatile int sink;

template <typename T> static inline __attribute__((always_inline)) T load(const T *p)
{
	return *p; // LOAD_LINE: the faulting read
}

template <typename T> struct Foo {
	const T *p;
	__attribute__((noipa)) void bar();
};

template <typename T> __attribute__((noipa)) void Foo<T>::bar()
{
	sink = load(p); // BAR_LINE: the call site of the inlined load
	sink = sink + 1;
}

__attribute__((noipa)) void thrower(int v)
{
	if (v > 0)
		throw std::runtime_error("nobody catches this");
	sink = v;
}

template <typename F> __attribute__((noipa)) void run(F f, int v)
{
	f(v);
	sink = sink + 1;
}

} // namespace ns

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s abort|segv\n", argv[0]);
		return 2;
	}
	// argc - 1 is 1 at run time: nothing the compiler can fold.
	int one = argc - 1;
	if (!strcmp(argv[1], "abort")) {
		// the store after the call keeps it a call, not a tail jump (which
		// GDB shows as a frame and libdwfl cannot see)
		ns::run([](int v) __attribute__((noipa)) { ns::thrower(v); ns::sink = v; }, one);
	} else if (!strcmp(argv[1], "segv")) {
		ns::Foo<int> foo{ one == 1 ? nullptr : &one };
		ns::run([&foo](int v) __attribute__((noipa)) { foo.bar(); ns::sink = v; }, one);
	} else {
		fprintf(stderr, "unknown kind %s\n", argv[1]);
		return 2;
	}
	return 0;
}
