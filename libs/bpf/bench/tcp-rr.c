// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* TCP request/response rate over one connection (netperf TCP_RR style), used by the
 * libs/bpf benchmark inside network namespaces.
 *   tcp-rr server PORT              accept connections one after another; echo each byte
 *   tcp-rr client HOST PORT SECONDS send 1 byte, wait for 1 byte, repeat; print rate/s
 *   tcp-rr crr HOST PORT SECONDS    the same over a new connection each time (netperf
 *                                   TCP_CRR: connect, 1 byte each way, close with RST so no
 *                                   TIME_WAIT piles up); print connections/s */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int serve(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int one = 1, s = socket(AF_INET, SOCK_STREAM, 0);

	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 8) < 0) {
		perror("tcp-rr server: bind/listen");
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	for (;;) {
		char b;
		int c = accept(s, NULL, NULL);

		if (c < 0)
			continue;
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		while (read(c, &b, 1) == 1)
			if (write(c, &b, 1) != 1)
				break;
		close(c);
	}
}

static int client(const char *host, int port, double seconds)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int one = 1, s = socket(AF_INET, SOCK_STREAM, 0);
	unsigned long n = 0;
	double start, end;
	char b = 'x';

	inet_pton(AF_INET, host, &a.sin_addr);
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("tcp-rr client: connect");
		return 1;
	}
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	start = now();
	end = start + seconds;
	for (;;) {
		if (write(s, &b, 1) != 1 || read(s, &b, 1) != 1) {
			perror("tcp-rr client: exchange");
			return 1;
		}
		n++;
		if ((n & 255) == 0 && now() >= end)
			break;
	}
	printf("%.1f\n", n / (now() - start));
	close(s);
	return 0;
}

static int crr(const char *host, int port, double seconds)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct linger rst = { .l_onoff = 1, .l_linger = 0 };
	int one = 1;
	unsigned long n = 0;
	double start, end;
	char b = 'x';

	inet_pton(AF_INET, host, &a.sin_addr);
	start = now();
	end = start + seconds;
	for (;;) {
		int s = socket(AF_INET, SOCK_STREAM, 0);

		if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
			perror("tcp-rr crr: connect");
			return 1;
		}
		setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (write(s, &b, 1) != 1 || read(s, &b, 1) != 1) {
			perror("tcp-rr crr: exchange");
			return 1;
		}
		setsockopt(s, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst));
		close(s);
		n++;
		if ((n & 15) == 0 && now() >= end)
			break;
	}
	printf("%.1f\n", n / (now() - start));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "server"))
		return serve(atoi(argv[2]));
	if (argc == 5 && !strcmp(argv[1], "client"))
		return client(argv[2], atoi(argv[3]), atof(argv[4]));
	if (argc == 5 && !strcmp(argv[1], "crr"))
		return crr(argv[2], atoi(argv[3]), atof(argv[4]));
	fprintf(stderr, "usage: tcp-rr server PORT | tcp-rr client|crr HOST PORT SECONDS\n");
	return 2;
}
