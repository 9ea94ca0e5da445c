import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { PlaygroundApp } from './playground-app.js';
import './styles.css';

const container = document.getElementById('root');
if (container === null) throw new Error('index.html needs an element with id "root"');

// Served by server.mjs (or Vite's proxy in development), the broker answers on the page's own origin.
createRoot(container).render(
  <StrictMode>
    <PlaygroundApp brokerUrl={window.location.origin} />
  </StrictMode>,
);
