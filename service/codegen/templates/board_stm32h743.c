/* SPDX-License-Identifier: Apache-2.0 */
/* board.c - the Nucleo-H743ZI2 board: USART3 on PD8 (TX) / PD9 (RX), AF7,
 * which the on-board ST-LINK exposes as a virtual COM port, at 115200 8N1
 * from the 120 MHz PCLK1; and the DWT cycle counter (CPU cycles at
 * 480 MHz). The clocks were set by the start-up code (system.c). */
#include "board.h"

#include "stm32h743.h"

const char board_counter_unit[] = "cycles";

static void usart3_init(void)
{
	RCC_AHB4ENR |= RCC_AHB4ENR_GPIODEN;
	RCC_APB1LENR |= RCC_APB1LENR_USART3EN;
	(void)RCC_APB1LENR; /* the enable takes effect before the access */
	/* PD8, PD9: alternate function 7, very high speed, no pull */
	GPIOD_MODER = (GPIOD_MODER & ~((3u << 16) | (3u << 18))) |
		      (2u << 16) | (2u << 18);
	GPIOD_OSPEEDR |= (3u << 16) | (3u << 18);
	GPIOD_PUPDR &= ~((3u << 16) | (3u << 18));
	GPIOD_AFRH = (GPIOD_AFRH & ~0xFFu) | (7u << 0) | (7u << 4);
	/* kernel clock: PCLK1 (D2CCIP2R USART234578SEL = 0, the reset
	 * value); oversampling 16: BRR = f / baud, rounded */
	RCC_D2CCIP2R &= ~7u;
	USART3_CR1 = 0;
	USART3_CR2 = 0;
	USART3_CR3 = 0;
	USART3_BRR = (STM32_PCLK1_HZ + 115200u / 2u) / 115200u;
	USART3_CR1 = USART_CR1_TE | USART_CR1_RE | USART_CR1_UE;
}

void board_init(void)
{
	usart3_init();
	DEMCR |= DEMCR_TRCENA;
	DWT_LAR = 0xC5ACCE55u; /* unlock (Cortex-M7) */
	DWT_CYCCNT = 0;
	DWT_CTRL |= DWT_CTRL_CYCENA;
}

void board_puts(const char *s)
{
	for (; *s; s++) {
		if (*s == '\n') {
			while (!(USART3_ISR & USART_ISR_TXE))
				;
			USART3_TDR = '\r';
		}
		while (!(USART3_ISR & USART_ISR_TXE))
			;
		USART3_TDR = (uint32_t)(unsigned char)*s;
	}
	while (!(USART3_ISR & USART_ISR_TC))
		;
}

uint32_t board_counter(void)
{
	return DWT_CYCCNT;
}
