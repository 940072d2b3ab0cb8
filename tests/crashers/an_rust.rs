// A Rust crasher for the demangling tests (check_unwind, test_languages),
// built -C panic=abort -g -O, in legacy and in v0 symbol mangling.
// Usage: an_rust panic|segv
//   panic  an unwrap on None in a generic method: panic=abort → SIGABRT
//   segv   a write through a null pointer in unsafe code → SIGSEGV
// #[inline(never)] keeps the frames the tests look for.
use std::env;
use std::hint::black_box;
use std::ptr;

mod shapes {
    pub struct Holder<T> {
        pub v: Option<T>,
    }

    impl<T: Copy> Holder<T> {
        #[inline(never)]
        pub fn take(&self) -> T {
            self.v.unwrap() // panics on None
        }
    }

    #[inline(never)]
    pub fn poke(p: *mut u64) {
        unsafe { std::ptr::write_volatile(p, 42) }
    }
}

#[inline(never)]
fn crash(kind: &str) -> u64 {
    match kind {
        "panic" => {
            let h = shapes::Holder::<u64> { v: black_box(None) };
            h.take()
        }
        "segv" => {
            shapes::poke(black_box(ptr::null_mut()));
            1
        }
        _ => {
            eprintln!("usage: an_rust panic|segv");
            std::process::exit(2)
        }
    }
}

fn main() {
    let args: Vec<String> = env::args().collect();
    if args.len() != 2 {
        eprintln!("usage: an_rust panic|segv");
        std::process::exit(2);
    }
    let r = crash(&args[1]);
    println!("{}", black_box(r));
}
