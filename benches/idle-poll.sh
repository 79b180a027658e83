# benches/idle-poll.sh — sourced by benchmark scripts, not run.
#
# idle_poll_on: holds /dev/cpu_dma_latency at 0 on file descriptor 9 until the sourcing script
# (and every child that inherited the descriptor) exits — what tuned's latency-performance
# profile does. With a 0 µs latency request the cpuidle governor only picks the polling idle
# state, so a CPU waiting for the next packet spins instead of halting, and a query arriving at
# an idle CPU does not pay the wake-up from halt (in a VM: a halted vCPU is descheduled by the
# host and woken by an interrupt, tens of µs to ms). It applies to every process on the box
# alike, so it changes no ratio between servers; it removes noise from tails at low rates.
# Sets IDLE_POLL_NOTE to a phrase for the report. Needs root; without it, says so and goes on.
idle_poll_on() {
    if { exec 9>/dev/cpu_dma_latency; } 2>/dev/null && printf '\0\0\0\0' >&9 2>/dev/null; then
        IDLE_POLL_NOTE="idle CPUs polling (cpu_dma_latency 0)"
        return 0
    fi
    IDLE_POLL_NOTE="idle CPUs may halt (cannot write /dev/cpu_dma_latency)"
    echo "bench: $IDLE_POLL_NOTE" >&2
    return 1
}
