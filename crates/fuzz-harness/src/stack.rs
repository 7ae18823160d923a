//! The stack a connection has in the server, and a crash report when an
//! input overflows it.

/// A tokio worker thread's stack, 2 MiB by default (the server does not
/// change it). Deep AMF nesting overflows that long before the 8 MiB of
/// libFuzzer's main thread.
const SERVER_STACK: usize = 2 * 1024 * 1024;
/// Room for libFuzzer's crash handler (stack trace, writing the input)
/// once the thread's own stack is gone.
const SIGNAL_STACK: usize = 1024 * 1024;

/// Runs `f` on a thread with [`SERVER_STACK`]; a panic that escapes `f`
/// goes on on the calling thread.
pub(crate) fn on_a_server_stack(f: impl FnOnce() + Send) {
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new()
            .stack_size(SERVER_STACK)
            .spawn_scoped(scope, || {
                let _signal_stack = SignalStack::install();
                f();
            })
            .expect("a thread for the connection");
        if let Err(panic) = thread.join() {
            std::panic::resume_unwind(panic);
        }
    });
}

/// libFuzzer's SIGSEGV handler runs on the faulting stack, so a stack
/// overflow killed the process before it could save the input. Marks its
/// handlers SA_ONSTACK (each input's thread brings a [`SignalStack`]) so
/// that an overflow is reported and saved like any crash. Call once, after
/// libFuzzer has installed its handlers.
pub fn report_stack_overflows() {
    for signal in [libc::SIGSEGV, libc::SIGBUS] {
        // SAFETY: sigaction reads and writes only the structs passed; the
        // handler installed is the one already there, with one flag more.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(signal, std::ptr::null(), &mut action) == 0 {
                action.sa_flags |= libc::SA_ONSTACK;
                libc::sigaction(signal, &action, std::ptr::null_mut());
            }
        }
    }
}

/// An alternate signal stack for the current thread, removed on drop.
struct SignalStack {
    _memory: Vec<u8>,
}

impl SignalStack {
    fn install() -> Self {
        let mut memory = vec![0u8; SIGNAL_STACK];
        let stack = libc::stack_t {
            ss_sp: memory.as_mut_ptr().cast(),
            ss_flags: 0,
            ss_size: memory.len(),
        };
        // SAFETY: the memory outlives the registration: Drop unregisters it
        // before the Vec is freed, on the same thread.
        unsafe { libc::sigaltstack(&stack, std::ptr::null_mut()) };
        Self { _memory: memory }
    }
}

impl Drop for SignalStack {
    fn drop(&mut self) {
        let disable = libc::stack_t {
            ss_sp: std::ptr::null_mut(),
            ss_flags: libc::SS_DISABLE,
            ss_size: 0,
        };
        // SAFETY: only unregisters this thread's alternate stack.
        unsafe { libc::sigaltstack(&disable, std::ptr::null_mut()) };
    }
}
