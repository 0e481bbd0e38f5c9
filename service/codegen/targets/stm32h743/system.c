/* SPDX-License-Identifier: Apache-2.0 */
/* system.c - STM32H743 clock tree and caches, register by register: LDO
 * supply, voltage scale 0 (VOS1 + overdrive), PLL1 from the 64 MHz HSI to
 * 480 MHz (M 4, N 60, P 2: VCO 960 MHz, as ST's CubeMX sets it for a
 * revision V part), flash wait states for 240 MHz AXI at VOS0, bus
 * prescalers, the switch to PLL1, then the L1 instruction and data caches
 * (no DMA is used, so no cache maintenance is needed afterwards). */
#include "stm32h743.h"

static void wait_set(volatile uint32_t *reg, uint32_t mask)
{
	while ((*reg & mask) != mask)
		;
}

void stm32_clock_init(void)
{
	/* Supply: LDO (the Nucleo-H743ZI2 has no SMPS); written once after
	 * reset, then the voltage levels become valid. */
	PWR_CR3 = (PWR_CR3 & ~(PWR_CR3_SCUEN | PWR_CR3_LDOEN | PWR_CR3_BYPASS)) |
		  PWR_CR3_LDOEN;
	wait_set(&PWR_CSR1, PWR_CSR1_ACTVOSRDY);
	/* VOS1, then overdrive (ODEN) for VOS0: needed above 400 MHz. */
	PWR_D3CR = (PWR_D3CR & ~PWR_D3CR_VOS_MASK) | PWR_D3CR_VOS1;
	wait_set(&PWR_D3CR, PWR_D3CR_VOSRDY);
	RCC_APB4ENR |= RCC_APB4ENR_SYSCFGEN;
	(void)RCC_APB4ENR;
	SYSCFG_PWRCR |= SYSCFG_PWRCR_ODEN;
	wait_set(&PWR_D3CR, PWR_D3CR_VOSRDY);

	/* HSI at 64 MHz (HSIDIV 1), the reset clock. */
	RCC_CR &= ~RCC_CR_HSIDIV_MASK;
	wait_set(&RCC_CR, RCC_CR_HSIRDY);

	/* PLL1: source HSI, DIVM1 4 -> 16 MHz reference (range 8..16 MHz,
	 * PLL1RGE 3), wide VCO, integer mode; DIVN1 60 -> VCO 960 MHz; P 2 ->
	 * 480 MHz (SYSCLK), Q 4 -> 240 MHz, R 2 -> 480 MHz. */
	RCC_CR &= ~RCC_CR_PLL1ON;
	while (RCC_CR & RCC_CR_PLL1RDY)
		;
	RCC_PLLCKSELR = (RCC_PLLCKSELR & ~((0x3Fu << 4) | 3u)) | (4u << 4) | 0u;
	RCC_PLLCFGR = (RCC_PLLCFGR & ~((7u << 16) | (3u << 2) | (1u << 1) | 1u)) |
		      (3u << 2) | (1u << 16) | (1u << 17) | (1u << 18);
	RCC_PLL1DIVR = (60u - 1u) | ((2u - 1u) << 9) | ((4u - 1u) << 16) |
		       ((2u - 1u) << 24);
	RCC_PLL1FRACR = 0;
	RCC_CR |= RCC_CR_PLL1ON;
	wait_set(&RCC_CR, RCC_CR_PLL1RDY);

	/* Flash: 4 wait states and WRHIGHFREQ 2 for a 240 MHz AXI clock at
	 * VOS0 (RM0433 table 17), before the clock goes up. */
	FLASH_ACR = (FLASH_ACR & ~(FLASH_ACR_LATENCY_MASK |
				   FLASH_ACR_WRHIGHFREQ_MASK)) |
		    4u | (2u << 4);
	while ((FLASH_ACR & FLASH_ACR_LATENCY_MASK) != 4u)
		;

	/* D1CPRE /1 (CPU 480), HPRE /2 (AXI/AHB 240), D1PPRE /2 (APB3 120);
	 * D2PPRE1, D2PPRE2 and D3PPRE /2 (APB1, APB2, APB4 120). */
	RCC_D1CFGR = (0u << 8) | (4u << 4) | 8u;
	RCC_D2CFGR = (4u << 8) | (4u << 4);
	RCC_D3CFGR = (4u << 4);

	RCC_CFGR = (RCC_CFGR & ~RCC_CFGR_SW_MASK) | RCC_CFGR_SW_PLL1;
	while ((RCC_CFGR & RCC_CFGR_SWS_MASK) != RCC_CFGR_SWS_PLL1)
		;
}

void stm32_cache_enable(void)
{
	uint32_t ccsidr, sets, ways;

	/* I-cache: invalidate, then enable. */
	__asm__ volatile("dsb\n\tisb" ::: "memory");
	SCB_ICIALLU = 0;
	__asm__ volatile("dsb\n\tisb" ::: "memory");
	SCB_CCR |= SCB_CCR_IC;
	__asm__ volatile("dsb\n\tisb" ::: "memory");

	/* D-cache: invalidate every set and way of L1, then enable. */
	SCB_CSSELR = 0;
	__asm__ volatile("dsb" ::: "memory");
	ccsidr = SCB_CCSIDR;
	sets = (ccsidr >> 13) & 0x7FFFu;
	do {
		ways = (ccsidr >> 3) & 0x3FFu;
		do {
			SCB_DCISW = ((sets & 0x1FFu) << 5) | ((ways & 3u) << 30);
		} while (ways-- != 0u);
	} while (sets-- != 0u);
	__asm__ volatile("dsb" ::: "memory");
	SCB_CCR |= SCB_CCR_DC;
	__asm__ volatile("dsb\n\tisb" ::: "memory");
}
