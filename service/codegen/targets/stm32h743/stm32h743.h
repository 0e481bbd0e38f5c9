/* SPDX-License-Identifier: Apache-2.0 */
/* stm32h743.h - the few STM32H743 and Cortex-M7 registers the bare-metal
 * start-up, clock set-up, console and cycle counter use, by address (RM0433
 * rev 8 and the ARMv7-M architecture manual); no vendor headers needed. */
#ifndef STM32H743_REGS_H
#define STM32H743_REGS_H

#include <stdint.h>

#define REG32(addr) (*(volatile uint32_t *)(addr))

/* ---- Cortex-M7 system control -------------------------------------------- */
#define SCB_VTOR    REG32(0xE000ED08u)
#define SCB_CCR	    REG32(0xE000ED14u)
#define SCB_CCR_IC  (1u << 17)
#define SCB_CCR_DC  (1u << 16)
#define SCB_CPACR   REG32(0xE000ED88u)
#define SCB_CCSIDR  REG32(0xE000ED80u)
#define SCB_CSSELR  REG32(0xE000ED84u)
#define SCB_ICIALLU REG32(0xE000EF50u)
#define SCB_DCISW   REG32(0xE000EF60u)
#define SCB_CFSR    REG32(0xE000ED28u)
#define SCB_HFSR    REG32(0xE000ED2Cu)

/* DWT cycle counter (and the debug enable it needs) */
#define DEMCR		REG32(0xE000EDFCu)
#define DEMCR_TRCENA	(1u << 24)
#define DWT_CTRL	REG32(0xE0001000u)
#define DWT_CYCCNT	REG32(0xE0001004u)
#define DWT_LAR		REG32(0xE0001FB0u)
#define DWT_CTRL_CYCENA (1u << 0)

/* ---- RCC (0x58024400) ----------------------------------------------------- */
#define RCC_BASE      0x58024400u
#define RCC_CR	      REG32(RCC_BASE + 0x00u)
#define RCC_CFGR      REG32(RCC_BASE + 0x10u)
#define RCC_D1CFGR    REG32(RCC_BASE + 0x18u)
#define RCC_D2CFGR    REG32(RCC_BASE + 0x1Cu)
#define RCC_D3CFGR    REG32(RCC_BASE + 0x20u)
#define RCC_PLLCKSELR REG32(RCC_BASE + 0x28u)
#define RCC_PLLCFGR   REG32(RCC_BASE + 0x2Cu)
#define RCC_PLL1DIVR  REG32(RCC_BASE + 0x30u)
#define RCC_PLL1FRACR REG32(RCC_BASE + 0x34u)
#define RCC_D2CCIP2R  REG32(RCC_BASE + 0x54u)
#define RCC_AHB4ENR   REG32(RCC_BASE + 0xE0u)
#define RCC_APB1LENR  REG32(RCC_BASE + 0xE8u)
#define RCC_APB4ENR   REG32(RCC_BASE + 0xF4u)

#define RCC_CR_HSIRDY	     (1u << 2)
#define RCC_CR_HSIDIV_MASK   (3u << 3)
#define RCC_CR_PLL1ON	     (1u << 24)
#define RCC_CR_PLL1RDY	     (1u << 25)
#define RCC_CFGR_SW_MASK     (7u << 0)
#define RCC_CFGR_SW_PLL1     (3u << 0)
#define RCC_CFGR_SWS_MASK    (7u << 3)
#define RCC_CFGR_SWS_PLL1    (3u << 3)
#define RCC_AHB4ENR_GPIODEN  (1u << 3)
#define RCC_APB1LENR_USART3EN (1u << 18)
#define RCC_APB4ENR_SYSCFGEN (1u << 1)

/* ---- PWR (0x58024800) and SYSCFG (0x58000400) --------------------------- */
#define PWR_BASE	   0x58024800u
#define PWR_CSR1	   REG32(PWR_BASE + 0x04u)
#define PWR_CR3		   REG32(PWR_BASE + 0x0Cu)
#define PWR_D3CR	   REG32(PWR_BASE + 0x18u)
#define PWR_CR3_BYPASS	   (1u << 0)
#define PWR_CR3_LDOEN	   (1u << 1)
#define PWR_CR3_SCUEN	   (1u << 2)
#define PWR_CSR1_ACTVOSRDY (1u << 13)
#define PWR_D3CR_VOSRDY	   (1u << 13)
#define PWR_D3CR_VOS_MASK  (3u << 14)
#define PWR_D3CR_VOS1	   (3u << 14)

#define SYSCFG_PWRCR	  REG32(0x58000400u + 0x2Cu)
#define SYSCFG_PWRCR_ODEN (1u << 0)

/* ---- embedded flash (0x52002000) ----------------------------------------- */
#define FLASH_ACR		 REG32(0x52002000u + 0x00u)
#define FLASH_ACR_LATENCY_MASK	 (0xFu << 0)
#define FLASH_ACR_WRHIGHFREQ_MASK (3u << 4)

/* ---- GPIOD (0x58020C00) and USART3 (0x40004800) ------------------------- */
#define GPIOD_BASE    0x58020C00u
#define GPIOD_MODER   REG32(GPIOD_BASE + 0x00u)
#define GPIOD_OSPEEDR REG32(GPIOD_BASE + 0x08u)
#define GPIOD_PUPDR   REG32(GPIOD_BASE + 0x0Cu)
#define GPIOD_AFRH    REG32(GPIOD_BASE + 0x24u)

#define USART3_BASE	   0x40004800u
#define USART3_CR1	   REG32(USART3_BASE + 0x00u)
#define USART3_CR2	   REG32(USART3_BASE + 0x04u)
#define USART3_CR3	   REG32(USART3_BASE + 0x08u)
#define USART3_BRR	   REG32(USART3_BASE + 0x0Cu)
#define USART3_ISR	   REG32(USART3_BASE + 0x1Cu)
#define USART3_TDR	   REG32(USART3_BASE + 0x28u)
#define USART_CR1_UE	   (1u << 0)
#define USART_CR1_RE	   (1u << 2)
#define USART_CR1_TE	   (1u << 3)
#define USART_ISR_TC	   (1u << 6)
#define USART_ISR_TXE	   (1u << 7)

/* Clock tree after stm32_clock_init(): SYSCLK = CPU 480 MHz, AXI/AHB
 * 240 MHz, APB1..4 120 MHz (USART3's kernel clock is PCLK1). */
#define STM32_CPU_HZ  480000000u
#define STM32_PCLK1_HZ 120000000u

void stm32_clock_init(void);
void stm32_cache_enable(void);

#endif
