/*
 * The simulated core 1's image: functions at the addresses of the
 * simulator's panic backtrace (core1_image.ld), padded so each address
 * falls inside one.  Built with xtensa-lx106-elf-gcc -g as
 * appcore-demo-core1.elf: appcored --demo runs the simulator with its
 * hash and registers it, so the demo's crashes are named; the
 * symbolization tests build it too.
 */
#define PAD(n) __asm__ volatile (".fill " #n ", 1, 0")

void mixer_process(void);
void mixer_mix(void);
void dsp_run(void);
void audio_task(void);
void app_main(void);

volatile int sink;

/* struct appcore_core1_header: first in the image (core1_image.ld), its
 * magic and ELF hash filled in by firmware-agent/tools/core1_image.py. */
__attribute__((section(".core1_header"), used))
const struct { void (*entry)(void); unsigned magic; unsigned char sha[32]; }
    core1_header = { app_main, 0, { 0 } };

void mixer_process(void)
{
	sink = 1;
	PAD(0x20);
	sink = 2;
	PAD(0x80);
}

void mixer_mix(void)
{
	PAD(0x80);
	mixer_process();
}

void dsp_run(void)
{
	PAD(0x100);
	mixer_mix();
}

void audio_task(void)
{
	PAD(0x100);
	dsp_run();
}

void app_main(void)
{
	PAD(0x40);
	audio_task();
}
