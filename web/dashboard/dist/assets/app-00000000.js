// Placeholder: the dashboard's built bundle replaces this file.
document.documentElement.dataset.placeholder = "true";
