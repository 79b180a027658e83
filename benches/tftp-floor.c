// benches/tftp-floor.c — the kernel's floor for a lock-step TFTP burst on loopback, without
// any TFTP server: N connected UDP socket pairs; the "server" thread (CPU 0, SCHED_FIFO 20)
// sends one 1472-byte datagram (a DATA block of 1468 bytes) on each, then receives the 4-byte
// ACK of each with a blocking recv (so it sleeps only when no ACK is waiting). The clients on
// CPU 1 (SCHED_FIFO 10) answer each datagram with a 4-byte ACK: one thread per client blocked
// in recv like curl (MODE 1), or one epoll thread for all (MODE 0). Prints the server thread's
// CPU per block (user + sys, RUSAGE_THREAD) and its sleeps (voluntary context switches).
//
//   gcc -O2 -pthread -o /tmp/tftp-floor benches/tftp-floor.c
//   echo -1 > /proc/sys/kernel/sched_rt_runtime_us   # as benches/tftp-compare --rt does
//   /tmp/tftp-floor N ROUNDS MODE                     # e.g. 50 8000 1 (root, for SCHED_FIFO)
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
static int N, ROUNDS, mode;
static int *srv, *cli;
static void pin(int cpu, int prio) {
    cpu_set_t s; CPU_ZERO(&s); CPU_SET(cpu, &s);
    pthread_setaffinity_np(pthread_self(), sizeof s, &s);
    struct sched_param p = {.sched_priority = prio};
    pthread_setschedparam(pthread_self(), SCHED_FIFO, &p);
}
static void *one_client(void *a) {
    int fd = cli[(long)a]; pin(1, 10);
    char buf[2048];
    for (int r = 0; r < ROUNDS; r++) { recv(fd, buf, sizeof buf, 0); send(fd, buf, 4, 0); }
    return 0;
}
static void *client(void *a) {
    (void)a; pin(1, 10);
    int ep = epoll_create1(0);
    for (int i = 0; i < N; i++) { struct epoll_event e = {.events = EPOLLIN, .data.u32 = i}; epoll_ctl(ep, EPOLL_CTL_ADD, cli[i], &e); }
    char buf[2048]; long left = (long)N * ROUNDS;
    struct epoll_event ev[64];
    while (left > 0) {
        int n = epoll_wait(ep, ev, 64, 1000);
        for (int k = 0; k < n; k++) {
            int fd = cli[ev[k].data.u32];
            while (recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0) { send(fd, buf, 4, 0); left--; }
        }
    }
    return 0;
}
int main(int argc, char **argv) {
    N = atoi(argv[1]); ROUNDS = atoi(argv[2]);
    srv = calloc(N, sizeof(int)); cli = calloc(N, sizeof(int));
    for (int i = 0; i < N; i++) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)}, b = a;
        socklen_t l = sizeof a;
        srv[i] = socket(AF_INET, SOCK_DGRAM, 0); cli[i] = socket(AF_INET, SOCK_DGRAM, 0);
        bind(srv[i], (void *)&a, l); bind(cli[i], (void *)&b, l);
        getsockname(srv[i], (void *)&a, &l); getsockname(cli[i], (void *)&b, &l);
        connect(srv[i], (void *)&b, l); connect(cli[i], (void *)&a, l);
    }
    mode = argc > 3 ? atoi(argv[3]) : 0;
    pthread_t t, *ts = calloc(N, sizeof(pthread_t));
    if (mode) for (long i = 0; i < N; i++) pthread_create(&ts[i], 0, one_client, (void *)i);
    else pthread_create(&t, 0, client, 0);
    pin(0, 20);
    char data[1472]; memset(data, 7, sizeof data); char ack[16];
    struct rusage r0, r1; struct timeval w0, w1;
    getrusage(RUSAGE_THREAD, &r0); gettimeofday(&w0, 0);
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < N; i++) send(srv[i], data, sizeof data, 0);
        for (int i = 0; i < N; i++) recv(srv[i], ack, sizeof ack, 0);
    }
    getrusage(RUSAGE_THREAD, &r1); gettimeofday(&w1, 0);
    if (mode) for (int i = 0; i < N; i++) pthread_join(ts[i], 0); else pthread_join(t, 0);
    double us = (r1.ru_utime.tv_sec - r0.ru_utime.tv_sec) * 1e6 + (r1.ru_utime.tv_usec - r0.ru_utime.tv_usec)
              + (r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) * 1e6 + (r1.ru_stime.tv_usec - r0.ru_stime.tv_usec);
    double wall = (w1.tv_sec - w0.tv_sec) * 1e6 + (w1.tv_usec - w0.tv_usec);
    long blocks = (long)N * ROUNDS;
    printf("%s N=%d blocks=%ld: server CPU %.2f us/block, %.3f sleeps/block, wall %.2f us/block\n", mode ? "thread per client" : "one epoll client", N, blocks, us / blocks,
           (double)(r1.ru_nvcsw - r0.ru_nvcsw) / blocks, wall / blocks);
    (void)mode; return 0;
}
