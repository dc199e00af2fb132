/** Where this browser keeps the theme picked in the header (read before the first paint by the root layout). */
export const THEME_KEY = 'aster-theme';
